import Foundation
import Testing

@testable import AvioApp

/// Decodes QR images with a real reader, `zbarimg` (Debian's zbar-tools; `make test` installs it).
enum QRDecoder {
    static func decode(png: [UInt8]) throws -> String {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("qr-\(UUID().uuidString).png")
        try Data(png).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/zbarimg")
        process.arguments = ["--raw", "-q", file.path]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

@Suite("QR rendering with libqrencode")
struct QRCodeTests {
    @Test("a login URL round-trips through PNG and zbarimg")
    func roundTrip() throws {
        let url = "tg://login?token=AQAAAABnSlt3xKOKc2S0pDF0Zl9xXW1hzGxu1J3tUOmNQZ8xwg"
        let code = try #require(QRCode(url))
        #expect(try QRDecoder.decode(png: code.png()) == url)
    }

    @Test("the PNG has a 4-module quiet zone and 8 px modules, white corners")
    func geometry() throws {
        let code = try #require(QRCode("tg://login?token=abc"))
        let png = code.png(scale: 8)
        #expect(Array(png.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        let width = png[16...19].reduce(0) { $0 << 8 | Int($1) }
        #expect(width == (code.size + 8) * 8)
        #expect(png.count < 4_000)
    }

    @Test("the SVG renders too and converts to a decodable image")
    func svg() throws {
        let code = try #require(QRCode("hello avio"))
        let svg = code.svg()
        #expect(SVGCheck.isSVGDocument(svg))
        let dir = FileManager.default.temporaryDirectory
        let svgFile = dir.appendingPathComponent("qr-\(UUID().uuidString).svg"), pngFile = dir.appendingPathComponent("qr-\(UUID().uuidString).png")
        try svg.write(to: svgFile, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: svgFile); try? FileManager.default.removeItem(at: pngFile) }
        let convert = Process()
        convert.executableURL = URL(fileURLWithPath: "/usr/bin/rsvg-convert")
        convert.arguments = ["-o", pngFile.path, svgFile.path]
        try convert.run()
        convert.waitUntilExit()
        #expect(try QRDecoder.decode(png: Array(Data(contentsOf: pngFile))) == "hello avio")
    }
}
