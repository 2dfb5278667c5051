package switchboard.supervision;

import org.slf4j.LoggerFactory;

/**
 * SIGTERM and Ctrl-C as a callback, so a foreground command can drain and then exit 0 (a JVM that
 * is left to its default handling exits 143 after SIGTERM). Where signals cannot be handled, a
 * shutdown hook runs the callback instead (the drain then races the JVM's exit).
 */
final class Signals {
  private Signals() {}

  @SuppressWarnings("sunapi")
  static void onTermination(Runnable stop) {
    try {
      sun.misc.SignalHandler handler = signal -> stop.run();
      sun.misc.Signal.handle(new sun.misc.Signal("TERM"), handler);
      sun.misc.Signal.handle(new sun.misc.Signal("INT"), handler);
    } catch (IllegalArgumentException | LinkageError e) {
      LoggerFactory.getLogger(Signals.class).debug("signals not handled, using a shutdown hook", e);
      Runtime.getRuntime().addShutdownHook(new Thread(stop, "switchboard-stop"));
    }
  }
}
