import Foundation
import HTTPTypes
import Hummingbird

/// Builds JSON responses from `JSONValue` documents.
public enum JSONResponse {
    public static func make(_ body: JSONValue, status: HTTPResponse.Status = .ok, headers extra: HTTPFields = [:]) -> Response {
        var headers: HTTPFields = [.contentType: "application/json; charset=utf-8"]
        headers.append(contentsOf: extra)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body.jsonString)))
    }
}

extension Request {
    /// Largest request body accepted anywhere (§5.1: over 1 MiB → 413).
    public static let maximumBodySize = 1 << 20

    /// Reads the body (≤ 1 MiB) and parses it as JSON: `413 payload_too_large`, `400 invalid_json`.
    public func jsonBody() async throws -> JSONValue {
        try await jsonBodyWithText().value
    }

    /// The parsed body and its text as received (valid UTF-8: the parser rejects anything else).
    public func jsonBodyWithText() async throws -> (value: JSONValue, text: String) {
        let buffer = try await limitedBody()
        guard let value = JSONValue.parse(buffer.readableBytesView) else { throw APIError.invalidJSON }
        return (value, String(buffer: buffer))
    }

    /// Like `jsonBody()`, but an empty body reads as `{}` (routes whose body is optional).
    public func optionalJSONBody() async throws -> JSONValue {
        let buffer = try await limitedBody()
        if buffer.readableBytesView.allSatisfy({ [0x20, 0x0A, 0x0D, 0x09].contains($0) }) { return .object([:]) }
        guard let value = JSONValue.parse(buffer.readableBytesView) else { throw APIError.invalidJSON }
        return value
    }

    /// The raw body, at most 1 MiB (`413 payload_too_large` beyond).
    private func limitedBody() async throws -> ByteBuffer {
        do {
            return try await body.collect(upTo: Self.maximumBodySize)
        } catch {
            throw APIError.payloadTooLarge
        }
    }

    /// The tenant from the query string (`400 invalid_tenant` when missing or not a positive integer).
    public func queryTenant() throws -> Int64 {
        guard let tenant = TenantID.parse(uri.queryParameters.get("tenant")) else { throw APIError.invalidTenant }
        return tenant
    }

    /// A positive integer query parameter, bounded; `default` when absent.
    public func queryInt(_ name: String, default fallback: Int, range: ClosedRange<Int>) throws -> Int {
        guard let raw = uri.queryParameters.get(name), !raw.isEmpty else { return fallback }
        guard let value = Int(raw), range.contains(value) else { throw APIError.invalidParameter(name) }
        return value
    }

    /// A header value by name.
    public func header(_ name: String) -> String? {
        HTTPField.Name(name).flatMap { headers[$0] }
    }
}

extension RequestContext {
    /// The tenant from the `{tenant}` path segment (`400 invalid_tenant`).
    public func pathTenant() throws -> Int64 {
        guard let tenant = TenantID.parse(parameters.get("tenant")) else { throw APIError.invalidTenant }
        return tenant
    }
}
