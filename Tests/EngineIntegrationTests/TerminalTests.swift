import BerthTestSupport
import Foundation
import Testing

@Suite(
  "berth run -it through tmux", .serialized,
  .enabled(
    if: EngineEnvironment.ready && EngineEnvironment.hasCommand("tmux"),
    "needs root, the fixtures and tmux"))
struct TerminalTests {
  func tmux(_ args: [String]) -> Output { sh(["tmux", "-L", "berth-e2e"] + args) }

  func screen(_ session: String) -> String { tmux(["capture-pane", "-p", "-t", session]).stdout }

  @Test func aShellPromptATypedCommandDetachAndReattach() {
    let box = EngineSandbox("tty")
    defer {
      tmux(["kill-server"])
      box.finish()
    }
    tmux([
      "new-session", "-d", "-s", "run", "-x", "120", "-y", "30",
      "\(box.command) run -it --name tty busybox sh; sleep 30",
    ])
    #expect(box.eventually { screen("run").contains("/ #") }, "\(screen("run"))")
    tmux(["send-keys", "-t", "run", "echo typed-$((6*7))", "Enter"])
    #expect(box.eventually { screen("run").contains("typed-42") })
    // ctrl-p ctrl-q leaves the container running.
    tmux(["send-keys", "-t", "run", "C-p", "C-q"])
    #expect(
      box.eventually {
        box.berth(["ps", "--format", "{{.Names}} {{.State}}"]).stdout == "tty running\n"
      })
    tmux([
      "new-session", "-d", "-s", "again", "-x", "120", "-y", "30",
      "\(box.command) attach tty; echo attach-exit-$?; sleep 30",
    ])
    usleep(500_000)
    tmux(["send-keys", "-t", "again", "echo back-$((2*3))", "Enter"])
    #expect(box.eventually { screen("again").contains("back-6") }, "\(screen("again"))")
    tmux(["send-keys", "-t", "again", "exit 5", "Enter"])
    #expect(box.eventually { screen("again").contains("attach-exit-5") }, "\(screen("again"))")
    #expect(box.berth(["wait", "tty"]).stdout == "5\n")
  }

  @Test func execWithATerminal() {
    let box = EngineSandbox("exectty")
    defer {
      tmux(["kill-server"])
      box.finish()
    }
    let id = box.berth(["run", "-d", "busybox", "sleep", "60"]).stdout.trimmed
    tmux([
      "new-session", "-d", "-s", "exec", "-x", "120", "-y", "30",
      "\(box.command) exec -it \(id) sh; echo exec-exit-$?; sleep 30",
    ])
    #expect(box.eventually { screen("exec").contains("/ #") }, "\(screen("exec"))")
    // The window size follows the terminal's (the relay copies it on SIGWINCH).
    tmux(["resize-window", "-t", "exec", "-x", "81", "-y", "23"])
    #expect(
      keepTyping(
        "stty size", until: "23 81", in: box,
        type: { _ = tmux(["send-keys", "-t", "exec", $0, "Enter"]) },
        screen: { screen("exec") }), "\(screen("exec"))")
    tmux(["send-keys", "-t", "exec", "tty; exit 9", "Enter"])
    #expect(box.eventually { screen("exec").contains("exec-exit-9") }, "\(screen("exec"))")
    #expect(screen("exec").contains("/dev/pts/"))
  }

  @Test func theInitWithATerminalGivesAShell() {
    let box = EngineSandbox("inittty")
    defer {
      tmux(["kill-server"])
      box.finish()
    }
    tmux([
      "new-session", "-d", "-s", "init", "-x", "120", "-y", "30",
      "\(box.command) run -it --rm --init busybox sh; echo init-exit-$?; sleep 30",
    ])
    #expect(box.eventually { screen("init").contains("/ #") }, "\(screen("init"))")
    tmux(["send-keys", "-t", "init", "exit 6", "Enter"])
    #expect(box.eventually { screen("init").contains("init-exit-6") }, "\(screen("init"))")
  }
}
