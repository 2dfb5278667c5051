package switchboard.channels.http;

import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * More fields for {@code GET /api/status} from outside the channels module, which cannot see them:
 * the gateway adds its recent alerts and why it last stopped. Asked once per status request; the
 * values are anything Jackson writes (a {@code JsonNode}, a {@code Map}, a {@code List}, a string, a
 * number). The channel's own fields ({@code providers}, {@code channels}, {@code uptime_seconds}) win
 * over an extra of the same name; extras that fail or take longer than the status timeout are left out.
 */
@FunctionalInterface
public interface StatusExtras {

  /** No extra fields. */
  StatusExtras NONE = () -> CompletableFuture.completedFuture(Map.of());

  /** The fields to add, by name. */
  CompletionStage<Map<String, Object>> fields();

  /**
   * Why this gateway should not get traffic now, if it should not: {@code GET /health} answers 503
   * with it (a cluster node that is not {@code Up}). Read on every health check, so it must be cheap.
   */
  default java.util.Optional<String> notServing() {
    return java.util.Optional.empty();
  }
}
