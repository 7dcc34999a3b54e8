import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Why a call to a worker did not produce a usable answer.
public enum GatewayError: Error, Sendable, Equatable {
    /// Connection refused, DNS failure, reset: the worker is not there.
    case unreachable
    /// No answer within the timeout.
    case timeout
    /// The worker answered with an error status; `code` is its `error` field (or `http_<status>`).
    case rejected(status: Int, code: String, retryAfter: Int?, reauth: Bool)
}

/// A worker's answer: status, the headers we look at, and the JSON body when there is one.
public struct WorkerAnswer: Sendable {
    public var status: Int
    public var body: JSONValue?
    public var bytes: [UInt8]
    public var retryAfter: Int?
    public var reauth: Bool
    public var contentType: String?

    /// The worker's error code: its `error` field when it looks like a code, else `http_<status>`.
    public var errorCode: String {
        if let text = body?["error"]?.stringValue ?? body?["detail"]?.stringValue, Self.isCode(text) { return text }
        return "http_\(status)"
    }

    static func isCode(_ text: String) -> Bool {
        (1...64).contains(text.count) && text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == ".") }
    }

    /// Throws `.rejected` unless the status is 2xx.
    public func requireSuccess() throws -> WorkerAnswer {
        guard (200..<300).contains(status) else {
            throw GatewayError.rejected(status: status, code: errorCode, retryAfter: retryAfter, reauth: reauth)
        }
        return self
    }
}

/// The HTTP plumbing shared by the worker clients: JSON in and out, a timeout on every call, transport failures
/// mapped to `GatewayError`. Secrets travel only in headers given by the caller and are never logged here.
public struct WorkerHTTP: Sendable {
    public let client: HTTPClient
    public let baseURL: URL
    public let timeout: TimeAmount
    public let headers: [(String, String)]

    public init(client: HTTPClient, baseURL: URL, timeoutSeconds: Int, headers: [(String, String)]) {
        self.client = client
        self.baseURL = baseURL
        self.timeout = .seconds(Int64(timeoutSeconds))
        self.headers = headers
    }

    /// Performs one call; `path` may carry a query string.
    public func call(_ method: HTTPMethod, _ path: String, json: JSONValue? = nil, maxBytes: Int = 4 << 20) async throws -> WorkerAnswer {
        let base = baseURL.absoluteString.hasSuffix("/") ? String(baseURL.absoluteString.dropLast()) : baseURL.absoluteString
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: json.jsonString))
        }
        do {
            let response = try await client.execute(request, timeout: timeout)
            let buffer = try await response.body.collect(upTo: maxBytes)
            let bytes = Array(buffer.readableBytesView)
            return WorkerAnswer(
                status: Int(response.status.code),
                body: JSONValue.parse(bytes),
                bytes: bytes,
                retryAfter: response.headers.first(name: "Retry-After").flatMap { Int($0) },
                reauth: response.headers.first(name: "X-Reauth") == "1",
                contentType: response.headers.first(name: "Content-Type")
            )
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout
            || error == .connectTimeout
        {
            throw GatewayError.timeout
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw GatewayError.unreachable
        }
    }
}
