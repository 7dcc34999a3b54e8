import Foundation
import GRDB

/// A tenant's webhook credential (CONTRACT §3).
public struct ProviderToken: Sendable, Equatable {
    public var tenant: Int64
    public var token: String
    public var createdAt: String
}

extension AppDatabase {
    /// Returns the tenant's token, creating it on first use. Stable across calls and restarts.
    /// The second value tells whether it was created now.
    public func ensureProviderToken(tenant: Int64, now: Date) async throws -> (ProviderToken, created: Bool) {
        let result = try await writer.write { db in
            if let existing = try Self.providerToken(db, tenant: tenant) { return (existing, false) }
            let token = ProviderToken(tenant: tenant, token: SecretGenerator.token(), createdAt: Timestamp.iso(now))
            try db.cachedExecute(sql: "INSERT INTO provider_tokens(tenant, token, created_at) VALUES (?, ?, ?)",
                           arguments: [token.tenant, token.token, token.createdAt])
            return (token, true)
        }
        tokenCache.withLock { $0[tenant] = result.0 }
        return result
    }

    /// The tenant's token, or `nil` when none was issued yet.
    public func providerToken(tenant: Int64) async throws -> ProviderToken? {
        if let cached = tokenCache.withLock({ $0[tenant] }) { return cached }
        let token = try await writer.read { db in try Self.providerToken(db, tenant: tenant) }
        if let token { tokenCache.withLock { $0[tenant] = token } }
        return token
    }

    /// Replaces the tenant's token with a new one; the old one stops working at once.
    public func rotateProviderToken(tenant: Int64, now: Date) async throws -> ProviderToken {
        let token = try await writer.write { db in
            let token = ProviderToken(tenant: tenant, token: SecretGenerator.token(), createdAt: Timestamp.iso(now))
            try db.cachedExecute(sql: """
                INSERT INTO provider_tokens(tenant, token, created_at) VALUES (?, ?, ?)
                ON CONFLICT(tenant) DO UPDATE SET token = excluded.token, created_at = excluded.created_at
                """, arguments: [token.tenant, token.token, token.createdAt])
            return token
        }
        tokenCache.withLock { $0[tenant] = token }
        return token
    }

    /// Every tenant with a token, in id order (the tenant list of the admin page and session resumption).
    public func providerTokens() async throws -> [ProviderToken] {
        try await writer.read { db in
            try db.cachedRows(sql: "SELECT tenant, token, created_at FROM provider_tokens ORDER BY tenant").map(Self.providerToken(row:))
        }
    }

    static func providerToken(_ db: Database, tenant: Int64) throws -> ProviderToken? {
        try db.cachedRow(sql: "SELECT tenant, token, created_at FROM provider_tokens WHERE tenant = ?", arguments: [tenant])
            .map(providerToken(row:))
    }

    private static func providerToken(row: Row) -> ProviderToken {
        let created: String = row["created_at"]
        // Rows written by `DEFAULT CURRENT_TIMESTAMP` read "YYYY-MM-DD HH:MM:SS" (UTC): present them as ISO 8601.
        let iso = created.contains("T") ? created : created.replacingOccurrences(of: " ", with: "T") + "Z"
        return ProviderToken(tenant: row["tenant"], token: row["token"], createdAt: iso)
    }
}
