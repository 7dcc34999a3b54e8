import Foundation
import GRDB
import Hummingbird

/// `/pub/wa/*` (CONTRACT §5.4): WhatsApp connection status and QR for the shop's browser page.
struct WhatsAppPublicController: Sendable {
    let waStore: WhatsAppQRStore
    let whatsapp: any WhatsAppGateway
    let database: AppDatabase

    @Sendable func status(_ request: Request, context: AppRequestContext) async throws -> Response {
        let tenant = try request.queryTenant()
        return JSONResponse.make(try await statusBody(tenant: tenant, key: request.uri.queryParameters.get("k") ?? ""))
    }

    @Sendable func qrSVG(_ request: Request, context: AppRequestContext) async throws -> Response {
        let tenant = try request.queryTenant()
        let qrID = request.uri.queryParameters.get("qr_id").flatMap { $0.isEmpty ? nil : $0 }
        guard let svg = await waStore.svg(tenant: tenant, qrID: qrID) else { throw APIError.qrNotFound }
        return Response(status: .ok, headers: [.contentType: "image/svg+xml"], body: .init(byteBuffer: ByteBuffer(string: svg)))
    }

    /// `POST /pub/wa/start` (GET accepted): asks the worker to start the session, then reports the status.
    @Sendable func start(_ request: Request, context: AppRequestContext) async throws -> Response {
        let tenant = try request.queryTenant()
        do {
            try await whatsapp.startSession(tenant: tenant)
        } catch {
            context.logger.warning("whatsapp worker refused session start", metadata: ["tenant": "\(tenant)", "error": "\(error)"])
            throw APIError.waUnavailable
        }
        if await waStore.state(tenant: tenant) != .ready { await waStore.setState(.starting, tenant: tenant) }
        return JSONResponse.make(try await statusBody(tenant: tenant, key: request.uri.queryParameters.get("k") ?? ""))
    }

    func statusBody(tenant: Int64, key: String) async throws -> JSONValue {
        var state = await waStore.state(tenant: tenant)
        if state == nil {
            let stored = try await database.writer.read { db in
                try db.cachedValue(String.self, sql: "SELECT state FROM wa_sessions WHERE tenant = ?", arguments: [tenant])
            }
            state = stored == "ready" ? .ready : .disconnected
        }
        var qrID: String?
        if state == .qr {
            qrID = await waStore.lastQRID(tenant: tenant)
            if qrID == nil { state = .starting }  // the QR expired; the worker will post a fresh one
        }
        let qrURL = qrID.map { "/pub/wa/qr.svg?" + QueryString.encode([("tenant", String(tenant)), ("qr_id", $0), ("k", key)]) }
        return [
            "ok": true, "tenant": .int(tenant), "state": .string((state ?? .disconnected).rawValue),
            "ready": .bool(state == .ready), "qr_id": .string(qrID), "qr_url": .string(qrURL),
        ]
    }
}

/// Builds query strings with every value percent-encoded.
enum QueryString {
    static func encode(_ items: [(String, String)]) -> String {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-_.~"))
        return items.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")" }.joined(separator: "&")
    }
}
