import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing

@testable import AvioApp

/// Everything a route test needs: the client of the real application and its services.
struct TestContext {
    let client: any TestClientProtocol
    let services: AppServices
    let config: AppConfig
    var database: AppDatabase { services.database }

    /// Sends a request; `body` is sent as-is (JSON text or anything else).
    @discardableResult
    func request(_ method: HTTPRequest.Method, _ uri: String, headers: HTTPFields = [:], body: String? = nil) async throws -> TestResponse {
        try await client.execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
    }

    func get(_ uri: String, headers: HTTPFields = [:]) async throws -> TestResponse {
        try await request(.get, uri, headers: headers)
    }

    func post(_ uri: String, headers: HTTPFields = [:], json: JSONValue) async throws -> TestResponse {
        try await request(.post, uri, headers: headers, body: json.jsonString)
    }

    /// Admin-authenticated request headers.
    var admin: HTTPFields { [HTTPField.Name("X-Admin-Token")!: config.adminToken ?? ""] }
}

/// A gateway that fails loudly when a test did not expect it to be called (STYLE §7).
struct UnexpectedGateway: TelegramGateway, WhatsAppGateway {
    func startLogin(tenant: Int64, force: Bool) async throws -> TelegramStatus { Issue.record("unexpected startLogin"); throw GatewayError.unreachable }
    func status(tenant: Int64) async throws -> TelegramStatus { Issue.record("unexpected status"); throw GatewayError.unreachable }
    func qrLoginURL(tenant: Int64, qrID: String) async throws -> String? { Issue.record("unexpected qrLoginURL"); throw GatewayError.unreachable }
    func qrPNG(tenant: Int64, qrID: String) async throws -> [UInt8] { Issue.record("unexpected qrPNG"); throw GatewayError.unreachable }
    func submitPassword(tenant: Int64, password: String) async throws -> TelegramStatus { Issue.record("unexpected 2fa"); throw GatewayError.unreachable }
    func logout(tenant: Int64) async throws { Issue.record("unexpected logout"); throw GatewayError.unreachable }
    func send(_ message: OutboundMessage) async throws -> DeliveryReceipt { Issue.record("unexpected send"); throw GatewayError.unreachable }
    func startSession(tenant: Int64) async throws { Issue.record("unexpected startSession"); throw GatewayError.unreachable }
}

/// One HTTP client for every test that talks to a live fake worker.
let sharedHTTPClient = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(timeout: .init(connect: .seconds(1))))

/// Runs `body` against the real application (router-level transport; background workers off so tests drive them).
func withTestApp<T>(
    config: AppConfig = .testing(),
    database: AppDatabase? = nil,
    telegram: (any TelegramGateway)? = nil,
    whatsapp: (any WhatsAppGateway)? = nil,
    clock: any AppClock = ManualClock(),
    logger: Logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }),
    _ body: @Sendable (TestContext) async throws -> T
) async throws -> T {
    let db = try database ?? AppDatabase(path: ":memory:")
    let dependencies = AppDependencies(
        database: db,
        telegram: telegram ?? TelegramWorkerClient(client: sharedHTTPClient, config: config),
        whatsapp: whatsapp ?? WhatsAppWorkerClient(client: sharedHTTPClient, config: config),
        clock: clock, metrics: AppMetrics()
    )
    let (app, services) = buildApplication(config: config, dependencies: dependencies, logger: logger, backgroundWorkers: false)
    return try await app.test(.router) { client in
        try await body(TestContext(client: client, services: services, config: config))
    }
}

extension TestResponse {
    /// The body parsed as JSON (fails the test when it is not JSON).
    var json: JSONValue {
        guard let value = JSONValue.parse(body.readableBytesView) else {
            Issue.record("body is not JSON: \(String(buffer: body))")
            return .null
        }
        return value
    }

    var text: String { String(buffer: body) }
}

/// Parses a JSON literal written in a test (for exact-body assertions).
func json(_ text: String) -> JSONValue {
    guard let value = JSONValue.parse(Array(text.utf8)) else { fatalError("bad JSON literal in test: \(text)") }
    return value
}

/// A temporary file path removed when the test ends.
func temporaryDatabasePath() -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("avio-tests-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir.appendingPathComponent("avio.sqlite").path
}
