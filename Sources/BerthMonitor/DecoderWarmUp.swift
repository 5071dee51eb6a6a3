import BerthOCI
import FoundationEssentials

/// A monitor started ahead of its container (`start-when-told`) decodes a
/// monitor config and a runtime spec of the shapes the engine writes while
/// it waits: the first decode of each type pays for its type metadata,
/// conformance lookups (each a scan of every conformance record in the
/// binary) and code paged in, and that is then off the start's path.
public enum DecoderWarmUp {
  public static func run() {
    let decoder = JSONDecoder()
    _ = try? decoder.decode(MonitorConfig.self, from: Data(monitorConfig.utf8))
    _ = try? decoder.decode(Spec.self, from: Data(spec.utf8))
    // The first encode on the start's path too: the status file.
    _ = try? JSONEncoder().encode(
      MonitorStatus(state: .starting, monitorPid: 0, monitorStartTime: 0))
  }

  static let monitorConfig = """
    {"autoRemove":true,"awaitRootfs":true,"bundle":"/b","chownTrees":[],"extraMounts":[],\
    "cgroupLayout":{"hierarchies":[{"controllers":["cpu"],"isV2":false,"mountPoint":"/c",\
    "mountRoot":"/"}]},\
    "hostInterfaces":[],"id":"x","logDriver":"k8s-file","logMaxSize":0,"logPath":"/b/l",\
    "loopbackUp":true,\
    "removePaths":["/s"],"restartMaxRetries":0,"restartPolicy":"no","rootfsMount":"/s/merged",\
    "runtimeRoot":"/r","spareSnapshot":{"directory":"/p","limit":16,"snapshot":"/s"},\
    "stdin":false,"terminal":false,"trashDirectory":"/t","volumeFills":[]}
    """

  static let spec = """
    {"hostname":"x","ociVersion":"1.2.0","root":{"path":"/s/merged","readonly":false},\
    "mounts":[{"destination":"/proc","source":"proc","type":"proc","options":["nosuid"]}],\
    "process":{"args":["true"],"cwd":"/","env":["PATH=/bin"],"terminal":false,\
    "user":{"gid":0,"uid":0,"additionalGids":[0]},\
    "capabilities":{"bounding":["CAP_CHOWN"],"effective":["CAP_CHOWN"],"permitted":["CAP_CHOWN"]},\
    "rlimits":[{"type":"RLIMIT_NOFILE","hard":1024,"soft":1024}]},\
    "linux":{"cgroupsPath":"/c","maskedPaths":["/proc/acpi"],"readonlyPaths":["/proc/bus"],\
    "namespaces":[{"type":"pid"}],"resources":{"devices":[{"access":"rwm","allow":false}]},\
    "seccomp":{"architectures":["SCMP_ARCH_X86_64"],"defaultAction":"SCMP_ACT_ERRNO",\
    "defaultErrnoRet":1,"syscalls":[{"action":"SCMP_ACT_ALLOW","names":["read"]}]},\
    "sysctl":{"net.ipv4.ping_group_range":"0 0"}}}
    """
}
