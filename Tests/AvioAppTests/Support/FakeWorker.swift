import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Synchronization

@testable import AvioApp

/// A request a fake worker received.
struct RecordedRequest: Sendable {
    var method: String
    var path: String
    var query: String
    /// Header names in lowercase.
    var headers: [String: String]
    var body: String

    func header(_ name: String) -> String? { headers[name.lowercased()] }
    var json: JSONValue? { JSONValue.parse(Array(body.utf8)) }
}

/// What a fake worker answers.
struct FakeReply: Sendable {
    var status: Int = 200
    var json: JSONValue? = ["ok": true]
    var bytes: [UInt8]? = nil
    var headers: [String: String] = [:]
    /// Delay before answering (timeouts).
    var delay: Duration = .zero

    static func ok(_ json: JSONValue = ["ok": true]) -> FakeReply { FakeReply(json: json) }
    static func error(_ status: Int, _ code: String, headers: [String: String] = [:]) -> FakeReply {
        FakeReply(status: status, json: ["ok": false, "error": .string(code)], headers: headers)
    }
}

/// A live HTTP server on loopback standing in for the Telegram or WhatsApp worker (a process boundary):
/// it records every request and answers from a script.
final class FakeWorker: Sendable {
    let port: Int
    private let recorded = Mutex<[RecordedRequest]>([])
    private let script: Mutex<@Sendable (RecordedRequest) -> FakeReply>

    var baseURL: URL { URL(string: "http://127.0.0.1:\(port)")! }
    var requests: [RecordedRequest] { recorded.withLock { $0 } }

    private init(port: Int, script: @escaping @Sendable (RecordedRequest) -> FakeReply) {
        self.port = port
        self.script = Mutex(script)
    }

    /// Replaces the answer script.
    func respond(_ script: @escaping @Sendable (RecordedRequest) -> FakeReply) { self.script.withLock { $0 = script } }

    fileprivate func handle(_ request: RecordedRequest) -> FakeReply {
        recorded.withLock { $0.append(request) }
        return script.withLock { $0 }(request)
    }

    /// Starts a fake worker, runs `body`, then stops the worker.
    static func with<T: Sendable>(_ script: @escaping @Sendable (RecordedRequest) -> FakeReply = { _ in .ok() },
                                  _ body: @Sendable (FakeWorker) async throws -> T) async throws -> T {
        let box = WorkerBox()
        let router = Router()
        router.on("/**", method: .get) { request, _ in try await Self.serve(request, box) }
        router.on("/**", method: .post) { request, _ in try await Self.serve(request, box) }
        let (stream, continuation) = AsyncStream.makeStream(of: Int.self)
        var quiet = Logger(label: "fake-worker")
        quiet.logLevel = .critical
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) }, logger: quiet)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.run() }
            var iterator = stream.makeAsyncIterator()
            let port = await iterator.next() ?? 0
            let worker = FakeWorker(port: port, script: script)
            box.value.withLock { $0 = worker }
            defer { group.cancelAll() }
            return try await body(worker)
        }
    }

    private static func serve(_ request: Request, _ box: WorkerBox) async throws -> Response {
        let buffer = try await request.body.collect(upTo: 1 << 22)
        var headers: [String: String] = [:]
        for field in request.headers { headers[field.name.canonicalName] = field.value }
        let recorded = RecordedRequest(method: request.method.rawValue, path: request.uri.path, query: request.uri.query ?? "",
                                       headers: headers, body: String(buffer: buffer))
        guard let worker = box.value.withLock({ $0 }) else { return Response(status: .serviceUnavailable) }
        let reply = worker.handle(recorded)
        if reply.delay > .zero { try await Task.sleep(for: reply.delay) }
        var fields = HTTPFields()
        for (name, value) in reply.headers { fields[HTTPField.Name(name)!] = value }
        let bytes: [UInt8]
        if let raw = reply.bytes {
            bytes = raw
        } else {
            fields[.contentType] = "application/json"
            bytes = Array((reply.json?.jsonString ?? "").utf8)
        }
        return Response(status: .init(code: reply.status), headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

/// Lets the router's handlers find the worker created after the server bound its port.
final class WorkerBox: Sendable {
    let value = Mutex<FakeWorker?>(nil)
}
