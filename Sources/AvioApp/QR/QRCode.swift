import CQRencode
import CZlib
import Foundation

/// QR codes rendered in the binary with libqrencode (CONTRACT §4): error correction H, a quiet zone of 4 modules,
/// black on white, as PNG (zlib-compressed) or SVG.
public struct QRCode: Sendable, Equatable {
    /// Modules per side, without the quiet zone.
    public let size: Int
    /// Row-major, true = dark.
    public let modules: [Bool]

    public static let quietZone = 4

    /// Encodes `text` (bytes, case-sensitive) at level H; `nil` when it does not fit in a QR code.
    public init?(_ text: String) {
        guard let code = text.withCString({ QRcode_encodeString($0, 0, QR_ECLEVEL_H, QR_MODE_8, 1) }) else { return nil }
        defer { QRcode_free(code) }
        let width = Int(code.pointee.width)
        size = width
        modules = (0..<(width * width)).map { code.pointee.data[$0] & 1 == 1 }
    }

    public func isDark(x: Int, y: Int) -> Bool { modules[y * size + x] }

    /// An 8-bit grayscale PNG, `scale` pixels per module (≥ 8 by default).
    public func png(scale: Int = 8) -> [UInt8] {
        let side = (size + 2 * Self.quietZone) * scale
        var raw = [UInt8]()
        raw.reserveCapacity((side + 1) * side)
        for py in 0..<side {
            raw.append(0)  // filter: none
            let my = py / scale - Self.quietZone
            for px in 0..<side {
                let mx = px / scale - Self.quietZone
                let dark = mx >= 0 && my >= 0 && mx < size && my < size && isDark(x: mx, y: my)
                raw.append(dark ? 0 : 255)
            }
        }
        var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        var header = [UInt8]()
        header += UInt32(side).bigEndianBytes + UInt32(side).bigEndianBytes
        header += [8, 0, 0, 0, 0]  // depth 8, grayscale, deflate, no filter, no interlace
        PNG.appendChunk("IHDR", header, to: &png)
        PNG.appendChunk("IDAT", PNG.deflate(raw), to: &png)
        PNG.appendChunk("IEND", [], to: &png)
        return png
    }

    /// An SVG document with one path of dark modules.
    public func svg(moduleSize: Int = 8) -> String {
        let side = (size + 2 * Self.quietZone)
        var path = ""
        for y in 0..<size {
            for x in 0..<size where isDark(x: x, y: y) {
                path += "M\(x + Self.quietZone) \(y + Self.quietZone)h1v1h-1z"
            }
        }
        return """
            <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \(side) \(side)" width="\(side * moduleSize)" \
            height="\(side * moduleSize)" shape-rendering="crispEdges"><rect width="100%" height="100%" fill="#fff"/>\
            <path fill="#000" d="\(path)"/></svg>\n
            """
    }
}

/// The few PNG pieces a QR image needs.
enum PNG {
    static func appendChunk(_ type: String, _ data: [UInt8], to png: inout [UInt8]) {
        let typeBytes = Array(type.utf8)
        png += UInt32(data.count).bigEndianBytes
        png += typeBytes
        png += data
        var crc = crc32(0, nil, 0)
        crc = typeBytes.withUnsafeBufferPointer { crc32(crc, $0.baseAddress, uInt($0.count)) }
        crc = data.withUnsafeBufferPointer { crc32(crc, $0.baseAddress, uInt($0.count)) }
        png += UInt32(truncatingIfNeeded: crc).bigEndianBytes
    }

    static func deflate(_ input: [UInt8]) -> [UInt8] {
        var length = compressBound(uLong(input.count))
        var output = [UInt8](repeating: 0, count: Int(length))
        let status = output.withUnsafeMutableBufferPointer { out in
            input.withUnsafeBufferPointer { compress2(out.baseAddress, &length, $0.baseAddress, uLong($0.count), 9) }
        }
        precondition(status == Z_OK, "zlib compress2 failed with a sufficient buffer")
        return Array(output.prefix(Int(length)))
    }
}

extension UInt32 {
    var bigEndianBytes: [UInt8] { [UInt8(self >> 24), UInt8(self >> 16 & 0xFF), UInt8(self >> 8 & 0xFF), UInt8(self & 0xFF)] }
}
