import Foundation

/// WhatsApp QR codes and session states (CONTRACT §5.4): SVGs under `wa:qr:{tenant}:{qr_id}:svg`, the newest id
/// under `wa:qr:last:{tenant}`, and the last known session state per tenant.
public actor WhatsAppQRStore {
    public enum State: String, Sendable { case qr, ready, starting, disconnected }

    private let cache: TTLCache<String>
    private let ttl: TimeInterval
    private var states: [Int64: State] = [:]

    public init(clock: any AppClock, ttlSeconds: Int) {
        cache = TTLCache(clock: clock)
        ttl = TimeInterval(max(180, ttlSeconds))
    }

    static func svgKey(tenant: Int64, qrID: String) -> String { "wa:qr:\(tenant):\(qrID):svg" }
    static func lastKey(tenant: Int64) -> String { "wa:qr:last:\(tenant)" }

    /// Stores a fresh QR and marks the session as waiting for a scan.
    public func storeQR(tenant: Int64, qrID: String, svg: String) async {
        await cache.set(Self.svgKey(tenant: tenant, qrID: qrID), svg, ttl: ttl)
        await cache.set(Self.lastKey(tenant: tenant), qrID, ttl: ttl)
        states[tenant] = .qr
    }

    /// The SVG of `qrID`, or of the newest QR when `qrID` is nil.
    public func svg(tenant: Int64, qrID: String?) async -> String? {
        guard let id = await resolve(tenant: tenant, qrID: qrID) else { return nil }
        return await cache.get(Self.svgKey(tenant: tenant, qrID: id))
    }

    /// The newest QR id still cached.
    public func lastQRID(tenant: Int64) async -> String? {
        guard let id = await cache.get(Self.lastKey(tenant: tenant)),
              await cache.get(Self.svgKey(tenant: tenant, qrID: id)) != nil else { return nil }
        return id
    }

    public func setState(_ state: State, tenant: Int64) async {
        states[tenant] = state
        if state == .ready { await cache.remove(Self.lastKey(tenant: tenant)) }
    }

    /// The in-memory state, if any event was seen since start.
    public func state(tenant: Int64) -> State? { states[tenant] }

    private func resolve(tenant: Int64, qrID: String?) async -> String? {
        if let qrID { return qrID }
        return await cache.get(Self.lastKey(tenant: tenant))
    }
}
