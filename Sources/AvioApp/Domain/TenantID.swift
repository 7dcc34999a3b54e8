/// Tenant ids are integers ≥ 1 (CONTRACT §2.5).
public enum TenantID {
    /// Largest tenant id accepted; keeps ids inside SQLite's and JavaScript's exact integer range.
    public static let maximum: Int64 = 9_007_199_254_740_991

    /// Parses a tenant from a path or query string; `nil` when it is not a positive integer.
    public static func parse(_ raw: String?) -> Int64? {
        guard let raw, !raw.isEmpty, raw.count <= 16, raw.allSatisfy(\.isASCIIDigit), let id = Int64(raw),
              id >= 1, id <= maximum else { return nil }
        return id
    }

    /// Validates a tenant from a JSON body; integers only (a numeric string is accepted, as the Python API did).
    public static func parse(_ value: JSONValue?) -> Int64? {
        switch value {
        case .int(let id) where id >= 1 && id <= maximum: return id
        case .string(let text): return parse(text)
        default: return nil
        }
    }
}
