import Foundation
import Hummingbird

/// The browser console (`GET /admin`, `/`) and `/openapi.yaml`, served from assets embedded in the binary.
struct AdminPageController: Sendable {
    @Sendable func index(_ request: Request, context: AppRequestContext) async throws -> Response {
        try Self.serve("index.html")
    }

    @Sendable func asset(_ request: Request, context: AppRequestContext) async throws -> Response {
        guard let file = context.parameters.get("file"), file != "index.html" else { throw APIError.notFound }
        return try Self.serve(file)
    }

    @Sendable func openAPI(_ request: Request, context: AppRequestContext) async throws -> Response {
        try Self.serve("openapi.yaml")
    }

    static func serve(_ name: String) throws -> Response {
        guard let asset = StaticAssets.files[name], let bytes = Data(base64Encoded: asset.base64) else { throw APIError.notFound }
        return Response(status: .ok, headers: [.contentType: asset.contentType, .cacheControl: "no-cache"],
                        body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
