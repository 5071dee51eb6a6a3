import BerthOCI
import CSeccomp

/// What `features` reports for seccomp: the actions this kernel accepts
/// (SECCOMP_GET_ACTION_AVAIL), every operator, and the architectures this
/// libseccomp can compile for.
enum SeccompFeatures {
  static func current() -> Features.Seccomp {
    let actions = SeccompPlan.actions.filter { action in
      berth_seccomp_action_available(action.word) == 0
    }
    let archs = SeccompPlan.architectureNames.filter { name in
      seccomp_arch_resolve_name(SeccompPlan.libseccompArchitecture(name)) != 0
    }
    return Features.Seccomp(
      enabled: true, actions: actions.map(\.name), operators: SeccompPlan.operators.map(\.name),
      archs: archs)
  }
}
