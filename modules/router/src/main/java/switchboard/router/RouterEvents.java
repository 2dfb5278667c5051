package switchboard.router;

import java.time.Duration;
import switchboard.providers.OutcomeKind;

/**
 * What the router reports as it happens, so metrics and alerts can hook in without the router
 * knowing them. Called on actor threads, possibly concurrently: implementations must be thread-safe
 * and must not block.
 */
public interface RouterEvents {

  /** A message moved from provider {@code from} to provider {@code to} after an outcome of {@code kind}. */
  default void fallback(String from, String to, OutcomeKind kind) {}

  /** A routed message got its one result, {@code elapsed} after the router received it. */
  default void routed(RouteResult result, Duration elapsed) {}

  RouterEvents NONE = new RouterEvents() {};
}
