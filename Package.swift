// swift-tools-version:5.10
// The mail daemon host: a drop-in master(8) for Postfix 3.7, its configuration
// library, and the administration tools.
import PackageDescription

let package = Package(
    name: "MailHost",
    products: [
        .executable(name: "master", targets: ["Host"]),
        .executable(name: "postfix", targets: ["PostfixTool"]),
        .executable(name: "postmulti", targets: ["PostmultiTool"]),
        .executable(name: "postconf", targets: ["PostconfTool"]),
        .library(name: "PostfixConfig", targets: ["PostfixConfig"]),
        // Plugins: lib<name>.so, installed as $plugin_directory/<name>.so.
        .library(name: "echo", type: .dynamic, targets: ["EchoPlugin"]),
        .library(name: "spawn", type: .dynamic, targets: ["SpawnPlugin"]),
        .library(name: "trap", type: .dynamic, targets: ["TrapPlugin"]),
        .library(name: "probe", type: .dynamic, targets: ["ProbePlugin"]),
        .library(name: "qmgr", type: .dynamic, targets: ["QmgrPlugin"]),
        .library(name: "metrics", type: .dynamic, targets: ["MetricsPlugin"]),
        .library(name: "flush", type: .dynamic, targets: ["FlushPlugin"]),
        .library(name: "pickup", type: .dynamic, targets: ["PickupPlugin"]),
        .library(name: "PostconfKit", targets: ["PostconfKit"]),
        // bench/qmgr-scan: a deferred-queue scan, stat every file versus indexed.
        .executable(name: "qmgr-scan-bench", targets: ["QmgrScanBench"]),
        // swift-log for plugins: a separate product, so plugins that do not want it do not link it.
        .library(name: "PluginAPILogging", targets: ["PluginAPILogging"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // Thin C shims for what Swift cannot express safely: signal handlers,
        // variadic syslog, SCM_RIGHTS, the packed epoll_event.
        .target(name: "CSystem", path: "Sources/CSystem"),
        // GNU libltdl, through which plugins are loaded (Debian libltdl-dev).
        .systemLibrary(name: "CLTDL", path: "Sources/CLTDL"),
        // The plugin ABI: one C header for plugin authors, no code.
        .target(name: "MailhostPluginABI", path: "Sources/PluginAPI/CABI"),
        // The Swift SDK over the C ABI: a plugin is a type conforming to a protocol.
        // The Swift runtime version a Swift plugin records and the host requires:
        // one definition for both sides.
        .target(name: "PluginRuntimeVersion", path: "Sources/PluginAPI/RuntimeVersion"),
        .target(name: "PluginAPI", dependencies: ["MailhostPluginABI", "PluginRuntimeVersion"], path: "Sources/PluginAPI/Swift"),
        // A swift-log LogHandler that writes into the master's log stream.
        .target(name: "PluginAPILogging",
                dependencies: ["PluginAPI", .product(name: "Logging", package: "swift-log")],
                path: "Sources/PluginAPI/SwiftLog"),
        // Release plugins carry their Swift runtime: a worker then loads one
        // self-contained file (about 1.7 ms) instead of also mapping and
        // relocating the shared runtime libraries (about 3 ms) after fork.
        .target(name: "EchoPlugin", dependencies: ["PluginAPI"], path: "Plugins/Echo",
                linkerSettings: [.unsafeFlags(["-static-stdlib"], .when(configuration: .release))]),
        .target(name: "SpawnPlugin", dependencies: ["PluginAPI", "DirectoryEntries"], path: "Plugins/Spawn",
                linkerSettings: [.unsafeFlags(["-static-stdlib"], .when(configuration: .release))]),
        // Prometheus/OpenMetrics over HTTP from inside the host (issue 10).
        .target(name: "MetricsPlugin", dependencies: ["PluginAPI", "QmgrQuery", "DirectoryEntries"], path: "Plugins/Metrics",
                linkerSettings: [.unsafeFlags(["-static-stdlib"], .when(configuration: .release))]),
        // Traps on its first request: the crash-containment test for Swift code.
        .target(name: "TrapPlugin", dependencies: ["PluginAPI"], path: "Plugins/Trap"),
        // Records what it sees of the real host: the SDK tests against the master.
        .target(name: "ProbePlugin", dependencies: ["PluginAPI", "PluginAPILogging"], path: "Plugins/Probe"),
        // Text rules shared by the configuration, the table readers and the
        // logs: logical lines, booleans, printable records (Glibc-free, tiny:
        // the queue plugins link it).
        .target(name: "PostfixText", path: "Sources/PostfixText"),
        .testTarget(name: "PostfixTextTests", dependencies: ["PostfixText", "TestSupport"], path: "Tests/PostfixTextTests"),
        // main.cf / master.cf parsing, parameter expansion, Debian defaults.
        .target(name: "PostfixConfig", dependencies: ["PostfixText"], path: "Sources/PostfixConfig"),
        // What crosses the master/worker/plugin boundary as bytes: status
        // records, trigger requests, plugin descriptors (and their messages);
        // a library so the fuzz targets (fuzz/) run what the master runs.
        .target(name: "MasterProtocol", dependencies: ["MailhostPluginABI", "PluginRuntimeVersion"],
                path: "Sources/MasterProtocol"),
        // The two sides of fork() are separate modules, so the compiler keeps
        // master code out of workers and worker code out of the master.
        // What both use: logging, the event loop, socket addresses, the
        // main.cf values, the daemon argument vector and descriptor layout.
        .target(name: "HostCommon",
                dependencies: ["PostfixConfig", "PostfixText", "CSystem", "ToolSupport", "MasterProtocol"],
                path: "Sources/HostCommon"),
        // Plugin files: resolution, ownership and mode checks, libtool
        // archives, libltdl loading with ABI checks, and the validation child.
        .target(name: "PluginLoading",
                dependencies: ["HostCommon", "CSystem", "CLTDL", "MailhostPluginABI", "PluginRuntimeVersion",
                               "MasterProtocol"],
                path: "Sources/PluginLoading"),
        // What runs after fork() in a plugin worker, or in a daemon exec'd
        // under a service's name: skeletons, host functions, worker state.
        .target(name: "WorkerRuntime",
                dependencies: ["HostCommon", "PluginLoading", "PostfixConfig", "PostfixText", "CSystem",
                               "MailhostPluginABI", "MasterProtocol"],
                path: "Sources/Worker"),
        // The master: services, listeners, spawning, status, wakeups,
        // reload, control socket, lock files, options.
        .executableTarget(
            name: "Host",
            dependencies: ["HostCommon", "PluginLoading", "WorkerRuntime", "PostfixConfig", "CSystem",
                           "MailhostPluginABI", "ToolSupport", "MasterProtocol"],
            path: "Sources/Host",
            // A release master carries its Swift runtime: 6.2 MB instead of
            // 8.0 MB peak RSS, and fewer mappings for every fork() to copy.
            // Debug builds stay dynamic so the tests can link the module.
            // Release turns the dynamic exclusivity checks off: they cost about
            // 6% of the master's instructions. Nothing proves their absence
            // harmless; the debug build keeps them, and the end-to-end tests
            // run against both builds so a violation fails the debug run.
            swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))],
            linkerSettings: [.unsafeFlags(["-static-stdlib"], .when(configuration: .release))]),
        // postconf(1) subset: main.cf/master.cf queries and layout-preserving edits.
        .target(name: "PostconfKit", dependencies: ["PostfixConfig"], path: "Sources/PostconfKit"),
        // Release tools carry their Swift runtime, like the master: installed
        // (make install, contrib/make-deb) they must run without the toolchain.
        .executableTarget(
            name: "PostconfTool",
            dependencies: ["PostconfKit"],
            path: "Sources/Tools/postconf",
            linkerSettings: [.unsafeFlags(["-static-stdlib"], .when(configuration: .release))]),
        // Running child programs (spawn, wait, capture output): Glibc only,
        // shared by the tools and the queue library.
        .target(name: "ChildProcesses", path: "Sources/ChildProcesses"),
        .testTarget(name: "ChildProcessesTests", dependencies: ["ChildProcesses"], path: "Tests/ChildProcessesTests"),
        // Shared by postfix(1) and postmulti(1): logging, instance settings.
        .target(name: "ToolSupport", dependencies: ["PostfixConfig", "PostfixText", "CSystem", "ChildProcesses"], path: "Sources/ToolSupport"),
        .executableTarget(
            name: "PostfixTool",
            dependencies: ["PostfixConfig", "PostconfKit", "ToolSupport", "ChildProcesses", "CSystem", "PluginLoading", "QmgrQuery", "DirectoryEntries"],
            path: "Sources/Tools/postfix",
            linkerSettings: [.unsafeFlags(["-static-stdlib"], .when(configuration: .release))]),
        .executableTarget(
            name: "PostmultiTool",
            dependencies: ["PostfixConfig", "PostconfKit", "ToolSupport", "ChildProcesses", "CSystem"],
            path: "Sources/Tools/postmulti",
            linkerSettings: [.unsafeFlags(["-static-stdlib"], .when(configuration: .release))]),
        .testTarget(
            name: "PostfixConfigTests",
            dependencies: ["PostfixConfig"],
            path: "Tests/PostfixConfigTests"),
        // The end-to-end harness shared by the test targets: private Postfix
        // instances, loopback sockets, processes (Foundation, tests only).
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(
            name: "HostTests",
            dependencies: ["PostfixConfig", "Host", "HostCommon", "PluginLoading", "ToolSupport", "TestSupport"],
            path: "Tests/HostTests"),
        .testTarget(
            name: "PluginHostTests",
            dependencies: ["PluginAPI", "PluginAPILogging", "PluginRuntimeVersion", "TestSupport"],
            path: "Tests/PluginHostTests",
            exclude: ["Fixtures"]),
        // Queue IDs and paths, queue-file records, the attr0 protocol and its
        // clients: Glibc only (runs in workers forked from the master).
        .target(name: "DirectoryEntries", path: "Sources/DirectoryEntries"),
        .target(name: "MailQueue", dependencies: ["ChildProcesses", "PostfixText"], path: "Sources/MailQueue"),
        .testTarget(
            name: "MailQueueTests",
            dependencies: ["MailQueue", "TestSupport"],
            path: "Tests/MailQueueTests"),
        // The queue manager's scheduler: pure logic (leaky bucket, concurrency
        // feedback, destination status cache, preemptive job scheduler) with
        // an injected clock; Glibc only, so it runs inside the qmgr plugin.
        .target(name: "QmgrCore", dependencies: ["MailQueue", "PostfixConfig", "QmgrDelivery"],
                path: "Sources/QmgrCore"),
        // The qmgr's query interface (issue 8 item 4): the JSON document of
        // the scheduler's state, the root-only socket and the non-blocking
        // server the plugin drives, and the reader postfix(1) uses (Glibc only).
        .target(name: "QmgrQuery", dependencies: ["QmgrCore"], path: "Sources/QmgrQuery"),
        .testTarget(
            name: "QmgrQueryTests",
            dependencies: ["QmgrQuery", "QmgrCore", "QmgrDelivery", "MailQueue", "TestSupport"],
            path: "Tests/QmgrQueryTests"),
        .testTarget(
            name: "QmgrCoreTests",
            dependencies: ["QmgrCore", "QmgrDelivery", "MailQueue"],
            path: "Tests/QmgrCoreTests"),
        // The queue manager's delivery side: non-blocking delivery-agent and
        // bounce/defer/trace conversations, stock's reaction to replies, message
        // completion decisions and log lines (Glibc only).
        .target(name: "QmgrDelivery", dependencies: ["MailQueue"], path: "Sources/QmgrDelivery"),
        .testTarget(
            name: "QmgrDeliveryTests",
            dependencies: ["QmgrDelivery", "MailQueue", "TestSupport"],
            path: "Tests/QmgrDeliveryTests"),
        // The qmgr's queue side: scanning incoming/deferred (with a bounded
        // index of deferred retry times), moving queue files, start-up
        // recovery, and loading a message with its recipients resolved.
        .target(name: "QmgrQueue", dependencies: ["MailQueue", "DirectoryEntries"], path: "Sources/QmgrQueue"),
        // The queue manager as a plugin (qmgr.so): wires QmgrQueue, QmgrCore
        // and QmgrDelivery into the host's trigger model with watches and timers.
        .target(name: "QmgrPlugin", dependencies: ["PluginAPI", "QmgrCore", "QmgrQueue", "QmgrDelivery", "MailQueue", "QmgrQuery"],
                path: "Plugins/Qmgr",
                linkerSettings: [.unsafeFlags(["-static-stdlib"], .when(configuration: .release))]),
        // pickup(8) as a plugin (pickup.so, issue 9): maildrop into cleanup
        // through MailQueue's cleanup client, in the host's trigger model.
        .target(name: "PickupPlugin", dependencies: ["PluginAPI", "MailQueue", "DirectoryEntries"], path: "Plugins/Pickup",
                linkerSettings: [.unsafeFlags(["-static-stdlib"], .when(configuration: .release))]),
        .testTarget(
            name: "PickupPluginTests",
            dependencies: ["TestSupport", "MailQueue"],
            path: "Tests/PickupPluginTests"),
        .testTarget(
            name: "QmgrPluginTests",
            dependencies: ["TestSupport"],
            path: "Tests/QmgrPluginTests"),
        // The fast-flush server as a plugin (flush.so), for flush(8)'s line (issue 9).
        .target(name: "FlushPlugin", dependencies: ["PluginAPI", "MailQueue", "DirectoryEntries"], path: "Plugins/Flush",
                linkerSettings: [.unsafeFlags(["-static-stdlib"], .when(configuration: .release))]),
        .testTarget(
            name: "FlushPluginTests",
            dependencies: ["TestSupport", "MailQueue"],
            path: "Tests/FlushPluginTests"),
        .executableTarget(name: "QmgrScanBench", dependencies: ["QmgrQueue", "MailQueue"], path: "bench/qmgr-scan",
                          exclude: ["run"]),
        .testTarget(
            name: "QmgrQueueTests",
            dependencies: ["QmgrQueue", "MailQueue", "TestSupport"],
            path: "Tests/QmgrQueueTests"),
        // The metrics plugin against our real master, stock daemons, promtool
        // and Debian's prometheus server.
        .testTarget(
            name: "MetricsPluginTests",
            dependencies: ["TestSupport", "QmgrQuery", "QmgrCore", "MailQueue"],
            path: "Tests/MetricsPluginTests"),
        .testTarget(
            name: "MasterProtocolTests",
            dependencies: ["MasterProtocol", "MailhostPluginABI"],
            path: "Tests/MasterProtocolTests"),
        .testTarget(
            name: "ToolsTests",
            dependencies: ["PostconfKit", "TestSupport"],
            path: "Tests/ToolsTests"),
    ]
)
