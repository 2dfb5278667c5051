package switchboard.supervision;

import org.slf4j.LoggerFactory;

/**
 * SIGTERM and Ctrl-C as a callback, given the signal's name ({@code SIGTERM}, {@code SIGINT}), so a
 * foreground command can drain, record why it stopped and then exit 0 (a JVM that is left to its
 * default handling exits 143 after SIGTERM). Where signals cannot be handled, a shutdown hook runs the
 * callback instead, with {@code shutdown hook} (the drain then races the JVM's exit).
 */
final class Signals {
  private Signals() {}

  /** Runs {@code stop} on SIGTERM or Ctrl-C. */
  static void onTermination(Runnable stop) {
    onTerminationSignal(signal -> stop.run());
  }

  /** Calls {@code stop} with the signal's name ({@code SIGTERM}, {@code SIGINT}) on SIGTERM or Ctrl-C. */
  @SuppressWarnings("sunapi")
  static void onTerminationSignal(java.util.function.Consumer<String> stop) {
    try {
      sun.misc.SignalHandler handler = signal -> stop.accept("SIG" + signal.getName());
      sun.misc.Signal.handle(new sun.misc.Signal("TERM"), handler);
      sun.misc.Signal.handle(new sun.misc.Signal("INT"), handler);
    } catch (IllegalArgumentException | LinkageError e) {
      LoggerFactory.getLogger(Signals.class).debug("signals not handled, using a shutdown hook", e);
      Runtime.getRuntime().addShutdownHook(new Thread(() -> stop.accept("shutdown hook"), "switchboard-stop"));
    }
  }
}
