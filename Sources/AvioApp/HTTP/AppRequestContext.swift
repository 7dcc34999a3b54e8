import Hummingbird
import NIOCore

/// Per-request context: Hummingbird's core storage plus the client address (2FA limits per IP, §4).
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The peer's IP address when known (nil in router-level tests).
    public let remoteIP: String?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteIP = source.channel.remoteAddress?.ipAddress
    }

    /// Bodies are read with `Request.jsonBody()`, which enforces the 1 MiB limit itself.
    public var maxUploadSize: Int { Request.maximumBodySize }
}
