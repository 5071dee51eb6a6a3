// swift-format-ignore-file: AlwaysUseLowerCamelCase

// (The Codable types here mirror docker's JSON field names one to one.)
// /version and /info in docker's shapes.
import BerthEngine
import BerthImage
import BerthSystem
import FoundationEssentials
import Glibc

enum SystemEndpoints {
  struct Version: Encodable {
    var Version: String
    var ApiVersion = Router.apiVersion
    var MinAPIVersion = Router.minimumVersion
    var Os = "linux"
    var Arch: String
    var KernelVersion: String
    var GoVersion = "n/a (Swift)"
    var GitCommit = ""
    var BuildTime = ""
    var Components: [Component]

    struct Component: Encodable {
      var Name: String
      var Version: String
      var Details: [String: String]
    }
  }

  static func uname() -> (release: String, machine: String) {
    var info = utsname()
    Glibc.uname(&info)
    func text<T>(_ field: T) -> String {
      withUnsafeBytes(of: field) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }
    return (text(info.release), text(info.machine))
  }

  static var architecture: String {
    switch uname().machine {
    case "x86_64": "amd64"
    case "aarch64": "arm64"
    case let other: other
    }
  }

  static func version(_ state: ServiceState) throws -> APIResponse {
    let version = state.server.version
    return .json(
      .ok,
      Router.json(
        Version(
          Version: version, Arch: architecture, KernelVersion: uname().release,
          Components: [
            Version.Component(
              Name: "Engine", Version: version,
              Details: [
                "ApiVersion": Router.apiVersion, "MinAPIVersion": Router.minimumVersion,
                "Os": "linux", "Arch": architecture, "KernelVersion": uname().release,
                "GitCommit": "", "GoVersion": "n/a (Swift)", "BuildTime": "",
                "Experimental": "false",
              ])
          ])))
  }

  struct Info: Encodable {
    var ID: String
    var Containers: Int
    var ContainersRunning: Int
    var ContainersPaused: Int
    var ContainersStopped: Int
    var Images: Int
    var Driver = "overlay"
    var DockerRootDir: String
    var OperatingSystem: String
    var OSType = "linux"
    var Architecture: String
    var NCPU: Int
    var MemTotal: Int64
    var Name: String
    var ServerVersion: String
    var KernelVersion: String
    var CgroupDriver = "cgroupfs"
    var CgroupVersion: String
    var SecurityOptions = ["name=seccomp,profile=default"]
  }

  static func info(_ state: ServiceState) throws -> APIResponse {
    let engine = try state.engine()
    let containers = try engine.containers()
    var host = [CChar](repeating: 0, count: 256)
    gethostname(&host, host.count)
    let os =
      (try? readFile("/etc/os-release")).flatMap { bytes in
        String(decoding: bytes, as: UTF8.self).split(separator: "\n")
          .first { $0.hasPrefix("PRETTY_NAME=") }
          .map { String($0.dropFirst(12).filter { $0 != "\"" }) }
      } ?? "Linux"
    let info = Info(
      ID: String(cString: host), Containers: containers.count,
      ContainersRunning: containers.filter { $0.state == .running }.count,
      ContainersPaused: containers.filter { $0.state == .paused }.count,
      ContainersStopped: containers.filter { $0.state == .exited || $0.state == .created }.count,
      Images: (try? engine.store.images().count) ?? 0, DockerRootDir: engine.root,
      OperatingSystem: os, Architecture: uname().machine,
      NCPU: Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))),
      MemTotal: Int64(sysconf(Int32(_SC_PHYS_PAGES))) * Int64(sysconf(Int32(_SC_PAGESIZE))),
      Name: String(cString: host), ServerVersion: state.server.version,
      KernelVersion: uname().release,
      CgroupVersion: fileExists("/sys/fs/cgroup/cgroup.controllers") ? "2" : "1")
    return .json(.ok, Router.json(info))
  }
}
