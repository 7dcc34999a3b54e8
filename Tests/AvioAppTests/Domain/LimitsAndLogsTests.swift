import Foundation
import Logging
import Synchronization
import Testing

@testable import AvioApp

@Suite("Rate limits, deprecation log, JSON logs")
struct LimitsAndLogsTests {
    @Test("the 2FA limiter counts per key: one IP trying many tenants is stopped too")
    func perIPLimit() async {
        let clock = ManualClock()
        let limiter = AttemptLimiter(limit: 5, window: 60, clock: clock)
        for tenant in 1...5 { #expect(await limiter.attempt(keys: ["tenant:\(tenant)", "ip:10.0.0.1"]) == nil) }
        #expect(await limiter.attempt(keys: ["tenant:6", "ip:10.0.0.1"]) == 60)
        #expect(await limiter.attempt(keys: ["tenant:6", "ip:10.0.0.2"]) == nil)
        clock.advance(by: 30)
        #expect(await limiter.attempt(keys: ["tenant:7", "ip:10.0.0.1"]) == 30)
        clock.advance(by: 30)
        #expect(await limiter.attempt(keys: ["tenant:7", "ip:10.0.0.1"]) == nil)
    }

    @Test("a refused attempt is not counted against the window")
    func refusalsDoNotExtend() async {
        let clock = ManualClock()
        let limiter = AttemptLimiter(limit: 1, window: 60, clock: clock)
        #expect(await limiter.attempt(keys: ["t"]) == nil)
        clock.advance(by: 59)
        #expect(await limiter.attempt(keys: ["t"]) == 1)
        clock.advance(by: 1)
        #expect(await limiter.attempt(keys: ["t"]) == nil)
    }

    @Test("LOG_FORMAT=json writes one JSON object per line with the metadata")
    func jsonLines() throws {
        let lines = Mutex<[String]>([])
        let logger = Logger(label: "avio") { label in JSONLogHandler(label: label) { line in lines.withLock { $0.append(line) } } }
        logger.info("inbox job", metadata: ["tenant": "7", "outcome": "stored"])
        let line = try #require(lines.withLock { $0.first })
        #expect(line.hasSuffix("\n"))
        let object = try #require(JSONValue.parse(Array(line.utf8)))
        #expect(object["msg"] == "inbox job")
        #expect(object["level"] == "info")
        #expect(object["tenant"] == "7")
        #expect(object["outcome"] == "stored")
        #expect(object["logger"] == "avio")
    }
}

@Suite("Work signal")
struct WorkSignalTests {
    @Test("a notification before the wait is not lost, and a wait without one ends at the timeout")
    func notifyThenWait() async {
        let signal = WorkSignal()
        await signal.notify()
        let start = ContinuousClock.now
        await signal.wait(timeout: .seconds(30))
        #expect(ContinuousClock.now - start < .seconds(5))
        let second = ContinuousClock.now
        await signal.wait(timeout: .milliseconds(50))
        #expect(ContinuousClock.now - second >= .milliseconds(50))
    }

    @Test("a waiting worker wakes when notified")
    func wakes() async {
        let signal = WorkSignal()
        async let waited: Void = signal.wait(timeout: .seconds(30))
        try? await Task.sleep(for: .milliseconds(20))
        await signal.notify()
        let start = ContinuousClock.now
        await waited
        #expect(ContinuousClock.now - start < .seconds(5))
    }
}
