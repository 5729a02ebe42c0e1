// WorkerLimits.swift - the life-cycle parameters every plugin worker reads.
//
// max_idle, max_use and daemon_timeout are read with the same rules as a
// stock daemon reads them at start-up (main.cf with the service's -o
// overrides): a value that does not parse, or is below the minimum of 1, ends
// the worker with stock's fatal text naming the parameter, before any plugin
// callback runs. Nothing is ever replaced by a default behind the
// administrator's back.

import PostfixConfig

struct WorkerLimits: Equatable {
    let maxIdle: Int
    let maxUse: Int
    let daemonTimeout: UInt32

    /// The limits, or the stock fatal text for the first bad one.
    static func parse(_ config: MainConfig) -> Result<WorkerLimits, ConfigError> {
        do {
            let idle = try minimumTime(config, "max_idle", 1)
            let use = try minimumInteger(config, "max_use", 1)
            let timeout = try minimumTime(config, "daemon_timeout", 1)
            return .success(WorkerLimits(maxIdle: idle, maxUse: use, daemonTimeout: UInt32(timeout)))
        } catch let error as ConfigError {
            return .failure(error)
        } catch {
            return .failure(ConfigError("\(error)"))
        }
    }

    /// As parse, for a worker: a bad value is fatal.
    static func read(_ config: MainConfig) -> WorkerLimits {
        switch parse(config) {
        case .success(let limits): return limits
        case .failure(let error): MasterLog.fatal(error.message)
        }
    }

    private static func minimumTime(_ config: MainConfig, _ name: String, _ minimum: Int) throws -> Int {
        let value = try config.seconds(name)
        if value < minimum { throw ConfigError("invalid \(name): \(value) (min \(minimum))") }
        return value
    }

    private static func minimumInteger(_ config: MainConfig, _ name: String, _ minimum: Int) throws -> Int {
        let value = try config.integer(name)
        if value < minimum { throw ConfigError("invalid \(name) parameter value \(value) < \(minimum)") }
        return value
    }
}
