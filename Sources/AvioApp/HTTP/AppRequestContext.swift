import Hummingbird
import NIOCore
import Synchronization

/// Per-request context: Hummingbird's core storage plus the client address (2FA limits per IP, §4).
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The peer's IP address when known (nil in router-level tests).
    public let remoteIP: String?
    /// Facts a handler learns (tenant from a JSON body, event) for the request's one log line.
    public let notes = RequestNotes()

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteIP = source.channel.remoteAddress?.ipAddress
    }

    /// Bodies are read with `Request.jsonBody()`, which enforces the 1 MiB limit itself.
    public var maxUploadSize: Int { Request.maximumBodySize }
}

/// What handlers tell the request log about a request; shared by every copy of the context.
public final class RequestNotes: Sendable {
    private let fields = Mutex<[String: String]>([:])

    public func set(_ key: String, _ value: String) { fields.withLock { $0[key] = String(value.prefix(64)) } }
    public var all: [String: String] { fields.withLock { $0 } }
}
