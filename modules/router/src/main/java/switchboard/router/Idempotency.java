package switchboard.router;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;

/**
 * A request's {@code Idempotency-Key} and a hash of its body: a request repeated with the same key
 * within {@link #KEPT} gets the first request's answer again, with no new provider call and no
 * second turn; the same key with another body is refused.
 */
public record Idempotency(String key, String bodyHash) {

  /** How long a key is remembered. */
  public static final Duration KEPT = Duration.ofHours(24);

  /** The longest key accepted (longer ones are the caller's error). */
  public static final int MAX_KEY_LENGTH = 255;

  /** The key {@code key} for a request with body {@code body}. */
  public static Idempotency of(String key, byte[] body) {
    return new Idempotency(key, sha256(body));
  }

  /** The answer to a repeat that came with another body. */
  public RouteResult.Rejected mismatch() {
    return new RouteResult.Rejected("The Idempotency-Key " + key + " was already used with a different request body.");
  }

  static String sha256(byte[] body) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(body));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  static String sha256(String text) {
    return sha256(text.getBytes(StandardCharsets.UTF_8));
  }
}
