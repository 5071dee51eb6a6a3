import BerthOCI
import BerthSystem

/// What `features` reports: only what this build really implements here.
public enum RuntimeFeatures {
  public static func current() -> Features {
    let layout = CgroupLayout.current()
    let last = Capability.lastSupported
    return Features(
      ociVersionMin: "1.0.0", ociVersionMax: ociRuntimeSpecVersion,
      hooks: [
        "prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop",
      ],
      mountOptions: MountOptions.known,
      linux: .init(
        namespaces: NamespaceKind.allCases.map(\.rawValue),
        capabilities: Array(Capability.names.prefix(last + 1)),
        cgroup: .init(
          v1: layout.hierarchies.contains { !$0.isV2 }, v2: layout.hierarchies.contains { $0.isV2 },
          systemd: false, systemdUser: false),
        seccomp: SeccompFeatures.current(),
        apparmor: .init(enabled: false), selinux: .init(enabled: false),
        mountExtensions: .init(idmap: .init(enabled: false))),
      annotations: ["org.opencontainers.runtime.name": "berth-runtime"])
  }
}
