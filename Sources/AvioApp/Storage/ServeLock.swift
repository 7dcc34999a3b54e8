#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// At most one `avio serve` per database file. The inbox worker reads a batch, then applies and completes it, and
/// startup releases every outbox lease: both are right only while a single server works the queues of a file. A
/// second server on the same file (started by hand, or an old binary during a deploy) is refused at startup with a
/// clear error instead of processing jobs twice. `avio migrate`, `avio backup` and `avio diag` do not take the lock.
///
/// The lock is an exclusive `flock` on `<database>.serve-lock`, held for the life of this object (the kernel releases
/// it when the process dies, so a crash never leaves it behind). `:memory:` databases need none.
public final class ServeLock: Sendable {
    public let path: String
    private let descriptor: Int32

    private init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }

    /// Takes the lock for `databasePath`; `nil` for `:memory:`.
    public static func acquire(databasePath: String) throws(ServeLockError) -> ServeLock? {
        guard databasePath != ":memory:" else { return nil }
        let path = databasePath + ".serve-lock"
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw .cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let busy = errno == EWOULDBLOCK
            let reason = String(cString: strerror(errno))
            close(descriptor)
            throw busy ? .held(databasePath: databasePath, lockPath: path) : .cannotOpen(path: path, reason: reason)
        }
        return ServeLock(path: path, descriptor: descriptor)
    }
}

public enum ServeLockError: Error, CustomStringConvertible {
    case held(databasePath: String, lockPath: String)
    case cannotOpen(path: String, reason: String)

    public var description: String {
        switch self {
        case .held(let database, let lock):
            "another avio serve is already using \(database) (it holds \(lock)); stop it first, or point DATABASE_URL at another file"
        case .cannotOpen(let path, let reason):
            "cannot open the lock file \(path): \(reason)"
        }
    }
}
