// swift-tools-version: 6.1
// Berth: a daemonless container engine and an OCI runtime, in layers that
// depend only downward:
//   CBerth, CSeccomp, CArchive → BerthSystem
//   → BerthOCI → BerthRuntime, BerthImage
//   → BerthMonitor (lean: runtime only) → BerthEngine → BerthBuild
//   → BerthService → BerthCLI → the executables.
import PackageDescription

// berth-runtime starts twice per container (the CVE-2019-5736 re-exec), so
// its start-up counts twice. The scripts build it as a static PIE (no ld.so
// symbol binding, a third less memory, ASLR kept) by setting
// BERTH_STATIC_RUNTIME=1 and passing --disable-local-rpath: glibc's static
// PIE start-up aborts on a RUNPATH, which SwiftPM adds by default. A plain
// `swift build` links it dynamically.
let staticRuntime = Context.environment["BERTH_STATIC_RUNTIME"] == "1"
let staticLinkerSettings: [LinkerSetting] =
  staticRuntime
  ? [
    .unsafeFlags(
      [
        "-static-executable", "-Xclang-linker", "-static-pie", "-use-ld=lld",
        // Autolinked with --static-swift-stdlib only; debug builds name them.
        "-l_FoundationCollections", "-l_FoundationCShims",
        // DT_RELR: the relative relocations packed, a megabyte less to read at start.
        "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs",
      ],
      .when(platforms: [.linux]))
  ] : []

// The monitor: static too, but not a PIE. A PIE relocates itself at start
// and so dirties every page of pointers it has (about 520 KB), which stays
// private for as long as its container runs; without relocations those
// pages stay clean and are shared by every monitor. (Debian builds runc
// and podman as non-PIE executables as well.)
let monitorLinkerSettings: [LinkerSetting] =
  staticRuntime
  ? [
    .unsafeFlags(
      [
        "-static-executable", "-use-ld=lld",
        "-l_FoundationCollections", "-l_FoundationCShims",
      ],
      .when(platforms: [.linux]))
  ] : []

// The CLI: static and not a PIE, as the monitor is. Each command then
// starts with no dynamic loader at all: linked against Debian's shared
// libraries, every start mapped seven of them and bound their symbols, and
// `berth --version` took 3.4 ms against 2.2 ms static (`ps -a` 5.2 against
// 3.7 ms). Debian's static archives of SQLite, libseccomp and libarchive come
// in, with the compression libraries libarchive reads layers with;
// --gc-sections drops the archive writers berth never selects (xar would
// otherwise pull in libxml2 and ICU). libnftables has no static archive: the
// firewall runs in a small dynamic helper, berth-nft.
let cliLinkerSettings: [LinkerSetting] =
  staticRuntime
  ? [
    .unsafeFlags(
      [
        "-static-executable", "-use-ld=lld", "-Xlinker", "--gc-sections",
        // Autolinked with --static-swift-stdlib only; debug builds name them.
        "-l_FoundationCollections", "-l_FoundationCShims", "-lCoreFoundation", "-l_FoundationICU",
        "-lz", "-lbz2", "-llzma", "-lzstd", "-llz4",
      ],
      .when(platforms: [.linux]))
  ] : []

let package = Package(
  name: "berth",
  platforms: [.macOS(.v15)],
  products: [
    .executable(name: "berth-runtime", targets: ["berth-runtime"]),
    .executable(name: "berth", targets: ["berth"]),
    .executable(name: "berth-monitor", targets: ["berth-monitor"]),
    .executable(name: "berth-init", targets: ["berth-init"]),
    .executable(name: "berth-nft", targets: ["berth-nft"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
    .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
    .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
    .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
  ],
  targets: [
    // Layer 1: C for raw syscalls, macro constants, variadic calls and cmsg.
    .target(name: "CBerth"),
    // Layer 1: berth-runtime's ELF constructor (the CVE-2019-5736 re-exec
    // before the Swift runtime starts); linked into that executable only.
    .target(name: "CRuntimeEntry", dependencies: ["CBerth"]),
    // Layer 1: libseccomp (Debian's libseccomp-dev) and the raw seccomp(2) load.
    .systemLibrary(
      name: "CSeccomp", pkgConfig: "libseccomp", providers: [.apt(["libseccomp-dev"])]),
    // Layer 1: Debian's libarchive (tar, gzip, zstd, xz; libarchive-dev).
    .systemLibrary(
      name: "CArchive", pkgConfig: "libarchive", providers: [.apt(["libarchive-dev"])]),
    // Layer 2: typed system calls on swift-system, and the one error type.
    .target(
      name: "BerthSystem",
      dependencies: ["CBerth", .product(name: "SystemPackage", package: "swift-system")]
    ),
    // Layer 3: Codable OCI value types: runtime spec, image spec, Docker
    // schema2, digests and image references (which report BerthError).
    .target(name: "BerthOCI", dependencies: ["BerthSystem"]),
    // Layer 4: the container lifecycle as a library. No NIO, no Foundation
    // beyond FoundationEssentials: it must stay single-threaded.
    .target(
      name: "BerthRuntime",
      dependencies: [
        "BerthSystem", "BerthOCI", "CSeccomp", .product(name: "Logging", package: "swift-log"),
      ]
    ),
    // Layer 5: content store, layer unpack, snapshots, registry client, archives.
    .target(
      name: "BerthImage",
      dependencies: [
        "BerthOCI", "BerthSystem", "CArchive",
        .product(name: "SystemPackage", package: "swift-system"),
        .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "AsyncHTTPClient", package: "async-http-client"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
      ]
    ),
    // Layer 6: what the per-container monitor runs: the container through
    // BerthRuntime in process, its stdio, log, attach socket, health checks
    // and restarts, and the files it shares with the engine (status, attach
    // frames). No NIO, no database, no HTTP: a monitor lives as long as its
    // container, so its private memory is what it costs.
    .target(
      name: "BerthMonitor",
      dependencies: [
        "BerthRuntime", "BerthSystem", "BerthOCI", "CBerth",
        .product(name: "SystemPackage", package: "swift-system"),
      ]),
    // Layer 6: the engine: container and volume records in SQLite (GRDB),
    // image + flags → OCI spec, locks, monitors started by posix_spawn,
    // logs, attach. The CLI and (later) the API service are faces on it.
    .target(
      name: "BerthEngine",
      dependencies: [
        "BerthImage", "BerthMonitor", "BerthRuntime", "BerthOCI", "BerthSystem",
        .product(name: "GRDB", package: "GRDB.swift"),
        .product(name: "GRDBSQLite", package: "GRDB.swift"),
        .product(name: "SystemPackage", package: "swift-system"),
      ]
    ),
    // Layer 7: the monitor's executable: single-threaded, started by exec.
    // Static, as berth-runtime is, but not a PIE (see monitorLinkerSettings):
    // one idle monitor per container maps no shared libraries, binds no
    // symbols and relocates nothing at start.
    .executableTarget(
      name: "berth-monitor",
      dependencies: ["BerthMonitor", "CBerth", "CMonitorEntry"],
      linkerSettings: monitorLinkerSettings
    ),
    // berth-monitor's ELF constructor: a rootful monitor started ahead
    // forks away from its starter before the Swift runtime starts.
    .target(name: "CMonitorEntry"),
    // The engine's firewall changes: one nft script through Debian's
    // libnftables (libnftables-dev), which has no static archive for the
    // static CLI to link. In C, dynamic, started by posix_spawn.
    .executableTarget(name: "berth-nft", linkerSettings: [.linkedLibrary("nftables")]),
    // `berth run --init`'s PID 1, in C and static: it runs inside the
    // container, where an image may have no libraries at all.
    .executableTarget(
      name: "berth-init",
      linkerSettings: [.unsafeFlags(["-static-executable"], .when(platforms: [.linux]))]
    ),
    // Layer 7: the runc-compatible CLI, one file per subcommand.
    .executableTarget(
      name: "berth-runtime",
      dependencies: [
        "BerthRuntime", "CRuntimeEntry",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ],
      linkerSettings: staticLinkerSettings
    ),
    // Layer 7: `berth build`: the Containerfile parser (pure logic) and the
    // builder, whose RUN steps are engine containers.
    .target(
      name: "BerthBuild",
      dependencies: [
        "BerthEngine", "BerthImage", "BerthOCI", "BerthSystem", "CBerth",
        .product(name: "SystemPackage", package: "swift-system"),
        .product(name: "Crypto", package: "swift-crypto"),
        // ADD of an http(s) URL.
        .product(name: "AsyncHTTPClient", package: "async-http-client"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
        .product(name: "SystemPackage", package: "swift-system"),
      ]
    ),
    // Layer 8: `berth system service`: the Docker Engine API over HTTP/1 on
    // a unix socket, with swift-nio's server directly (attach hijacks the
    // connection into a raw stream, which needs the channel itself).
    .target(
      name: "BerthService",
      dependencies: [
        "BerthEngine", "BerthImage", "BerthOCI", "BerthSystem", "BerthMonitor", "BerthBuild",
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
        .product(name: "SystemPackage", package: "swift-system"),
      ]
    ),
    // Layer 9: the podman-compatible engine CLI, one file per subcommand:
    // a library, so that its tests link it without the executable's static
    // link settings (a test bundle cannot be a static executable).
    .target(
      name: "BerthCLI",
      dependencies: [
        "BerthImage", "BerthEngine", "BerthBuild", "BerthService",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]
    ),
    // Layer 10: `berth` itself, a static executable (cliLinkerSettings).
    .executableTarget(name: "berth", dependencies: ["BerthCLI"], linkerSettings: cliLinkerSettings),
    .testTarget(name: "BerthOCITests", dependencies: ["BerthOCI"]),
    .testTarget(name: "BerthRuntimeTests", dependencies: ["BerthRuntime"]),
    // Helpers both image test targets use.
    .target(name: "BerthTestSupport", path: "Tests/BerthTestSupport"),
    .testTarget(
      name: "BerthImageTests", dependencies: ["BerthImage", "BerthOCI", "BerthTestSupport"]),
    .testTarget(
      name: "RuntimeIntegrationTests",
      // BerthRuntime only for library values such as the default seccomp profile.
      dependencies: ["BerthOCI", "BerthSystem", "CBerth", "BerthRuntime", "BerthTestSupport"]),
    .testTarget(
      name: "ImageIntegrationTests", dependencies: ["BerthImage", "BerthOCI", "BerthTestSupport"]),
    .testTarget(name: "BerthEngineTests", dependencies: ["BerthEngine", "BerthMonitor"]),
    .testTarget(name: "BerthBuildTests", dependencies: ["BerthBuild"]),
    // The CLI's own logic, such as the hand parser of `run` held to
    // swift-argument-parser's result.
    .testTarget(name: "BerthCLITests", dependencies: ["BerthCLI"]),
    // Drive the built `berth` as a user would, side by side with podman.
    .testTarget(name: "EngineIntegrationTests", dependencies: ["BerthTestSupport"]),
  ]
)
