import Foundation
import GRDB

/// Who a message is with, as stored in `contacts`.
public struct ContactInfo: Sendable, Equatable {
    public var tenant: Int64
    public var channel: Channel
    public var externalID: String
    public var phone: String?
    public var username: String?
    public var name: String?
}

/// A row for `messages`.
public struct MessageRecord: Sendable {
    public var direction: String
    public var text: String?
    public var media: [JSONValue]
    public var providerMessageID: String?
    public var status: String
    public var error: String?
    public var ts: Date
}

extension AppDatabase {
    /// Upserts the contact, finds or opens its lead, and inserts the message (§5.5). Idempotent: a message with a
    /// known provider id is not inserted twice. Returns the lead id and whether a message row was inserted.
    /// `leadID`, when it names a lead of the tenant, is used instead of the contact's open lead (`meta.lead_id`).
    static func recordMessage(_ db: Database, contact: ContactInfo, message: MessageRecord, now: Date,
                              leadID requestedLead: Int64? = nil) throws -> (leadID: Int64, inserted: Bool) {
        let stamp = Timestamp.iso(now)
        let contactID = try db.cachedValue(Int64.self, sql: """
            INSERT INTO contacts(tenant, channel, external_id, phone, username, name, created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(tenant, channel, external_id) DO UPDATE SET
                phone = COALESCE(excluded.phone, phone), username = COALESCE(excluded.username, username),
                name = COALESCE(excluded.name, name), updated_at = excluded.updated_at
            RETURNING id
            """, arguments: [contact.tenant, contact.channel.rawValue, contact.externalID, contact.phone, contact.username,
                             contact.name, stamp, stamp])!
        let leadID: Int64
        if let requestedLead, try db.cachedValue(Bool.self, sql: "SELECT EXISTS(SELECT 1 FROM leads WHERE id = ? AND tenant = ?)",
                                                 arguments: [requestedLead, contact.tenant]) == true {
            leadID = requestedLead
        } else {
            leadID = try openLead(db, tenant: contact.tenant, contactID: contactID, channel: contact.channel, now: now)
        }
        try db.cachedExecute(sql: """
            INSERT INTO messages(tenant, lead_id, contact_id, channel, direction, text, media, provider_message_id, status, error, ts, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING
            """, arguments: [contact.tenant, leadID, contactID, contact.channel.rawValue, message.direction, message.text,
                             message.media.isEmpty ? nil : JSONValue.array(message.media).jsonString, message.providerMessageID,
                             message.status, message.error, Timestamp.iso(message.ts), stamp])
        let inserted = db.changesCount > 0
        if inserted {
            try db.cachedExecute(sql: "UPDATE leads SET last_message_at = ?, updated_at = ? WHERE id = ?",
                           arguments: [Timestamp.iso(message.ts), stamp, leadID])
        }
        return (leadID, inserted)
    }

    /// The contact's open lead, created when there is none.
    static func openLead(_ db: Database, tenant: Int64, contactID: Int64, channel: Channel, now: Date) throws -> Int64 {
        if let id = try db.cachedValue(Int64.self, sql: "SELECT id FROM leads WHERE contact_id = ? AND status = 'open'", arguments: [contactID]) {
            return id
        }
        let stamp = Timestamp.iso(now)
        try db.cachedExecute(sql: "INSERT INTO leads(tenant, contact_id, channel, status, created_at, updated_at) VALUES (?, ?, ?, 'open', ?, ?)",
                       arguments: [tenant, contactID, channel.rawValue, stamp, stamp])
        return db.lastInsertedRowID
    }

    /// Whether a lead with this id exists for the tenant (outbox `err:no_lead` guard).
    public func leadExists(id: Int64, tenant: Int64) async throws -> Bool {
        try await writer.read { db in
            try db.cachedValue(Bool.self, sql: "SELECT EXISTS(SELECT 1 FROM leads WHERE id = ? AND tenant = ?)", arguments: [id, tenant]) ?? false
        }
    }

    /// Records an outbound message in its own transaction; returns the lead id.
    @discardableResult
    public func recordOutbound(contact: ContactInfo, message: MessageRecord, leadID: Int64?, now: Date) async throws -> Int64 {
        try await writer.write { db in try Self.recordMessage(db, contact: contact, message: message, now: now, leadID: leadID).leadID }
    }

    /// Leads, newest first, with their contact (`GET /admin/leads`).
    public func leads(tenant: Int64?, limit: Int, before: Int64?) async throws -> [JSONValue] {
        try await writer.read { db in
            try db.cachedRows(sql: """
                SELECT l.id, l.tenant, l.channel, l.status, l.created_at, l.updated_at, l.last_message_at,
                       c.id AS contact_id, c.external_id, c.phone, c.username, c.name,
                       (SELECT COUNT(*) FROM messages m WHERE m.lead_id = l.id) AS message_count
                FROM leads l JOIN contacts c ON c.id = l.contact_id
                WHERE (?1 IS NULL OR l.tenant = ?1) AND (?2 IS NULL OR l.id < ?2)
                ORDER BY l.id DESC LIMIT ?3
                """, arguments: [tenant, before, limit]).map { row in
                [
                    "id": .int(row["id"]), "tenant": .int(row["tenant"]), "channel": .string(row["channel"]),
                    "status": .string(row["status"]), "created_at": .string(row["created_at"]),
                    "updated_at": .string(row["updated_at"]), "last_message_at": .string(row["last_message_at"] as String?),
                    "message_count": .int(row["message_count"]),
                    "contact": [
                        "id": .int(row["contact_id"]), "external_id": .string(row["external_id"]),
                        "phone": .string(row["phone"] as String?), "username": .string(row["username"] as String?),
                        "name": .string(row["name"] as String?),
                    ],
                ]
            }
        }
    }

    /// A lead's messages, newest first; `nil` when the lead does not exist.
    public func messages(leadID: Int64, limit: Int, before: Int64?) async throws -> [JSONValue]? {
        try await writer.read { db in
            guard try db.cachedValue(Bool.self, sql: "SELECT EXISTS(SELECT 1 FROM leads WHERE id = ?)", arguments: [leadID]) == true else { return nil }
            return try db.cachedRows(sql: """
                SELECT id, tenant, channel, direction, text, media, provider_message_id, status, error, ts, created_at
                FROM messages WHERE lead_id = ?1 AND (?2 IS NULL OR id < ?2) ORDER BY id DESC LIMIT ?3
                """, arguments: [leadID, before, limit]).map { row in
                [
                    "id": .int(row["id"]), "tenant": .int(row["tenant"]), "channel": .string(row["channel"]),
                    "direction": .string(row["direction"]), "text": .string(row["text"] as String?),
                    "media": (row["media"] as String?).flatMap { JSONValue.parse(Array($0.utf8)) } ?? .array([]),
                    "provider_message_id": .string(row["provider_message_id"] as String?),
                    "status": .string(row["status"]), "error": .string(row["error"] as String?),
                    "ts": .string(row["ts"]), "created_at": .string(row["created_at"]),
                ]
            }
        }
    }
}
