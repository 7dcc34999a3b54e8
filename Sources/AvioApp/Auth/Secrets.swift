import Foundation

/// Secret comparison and generation (CONTRACT §2).
public enum Secrets {
    /// Compares in time that depends only on the lengths, never on where the first difference is.
    /// An empty or missing expected secret never matches: an unset secret opens nothing.
    public static func matches(_ presented: String?, expected: String?) -> Bool {
        guard let expected, !expected.isEmpty, let presented else { return false }
        let a = Array(presented.utf8), b = Array(expected.utf8)
        var difference = UInt8(a.count == b.count ? 0 : 1)
        for index in 0..<b.count {
            difference |= (index < a.count ? a[index] : 0) ^ b[index]
        }
        return difference == 0
    }

    /// Masks a secret for logs: its length only.
    public static func mask(_ secret: String?) -> String {
        guard let secret, !secret.isEmpty else { return "<unset>" }
        return "<\(secret.count) chars>"
    }
}

/// Random tokens: 32 bytes from the system CSPRNG, url-safe base64 without padding (§3).
public enum SecretGenerator {
    public static func token(bytes count: Int = 32) -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
