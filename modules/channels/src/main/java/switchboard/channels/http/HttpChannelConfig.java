package switchboard.channels.http;

import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigRenderOptions;
import java.util.Objects;
import java.util.Optional;
import org.apache.pekko.actor.typed.Behavior;
import switchboard.channels.Channel;
import switchboard.channels.ChannelContext;
import switchboard.channels.ChannelSettings;
import switchboard.providers.config.ConfigReader;

/**
 * {@code switchboard.channels.http}: where the HTTP API listens and how much it accepts. Read once at
 * start-up; every problem is reported through the {@link ConfigReader} so {@code config check} can list
 * them all. The auth token is a secret: {@link #toString()} never shows it.
 *
 * @param port               0 binds any free port (tests; the bound port is learned with
 *                           {@code HttpChannel.GetBinding})
 * @param maxPendingMessages messages being answered at once; one more gets {@code 503 busy} at once
 * @param maxBodySize        request bodies larger than this many bytes get {@code 413 too_large}
 * @param authToken          when present, every {@code /v1} and {@code /api} call needs
 *                           {@code Authorization: Bearer <token>}
 */
public record HttpChannelConfig(
    boolean enabled, String host, int port, int maxPendingMessages, long maxBodySize, Optional<String> authToken)
    implements ChannelSettings {

  /** The defaults of reference.conf, for tests and tools that build a config by hand. */
  public static final HttpChannelConfig DEFAULT =
      new HttpChannelConfig(true, "127.0.0.1", 8080, 100, 1024 * 1024, Optional.empty());

  public HttpChannelConfig {
    Objects.requireNonNull(host, "host");
    authToken = Objects.requireNonNull(authToken, "authToken").filter(t -> !t.isEmpty());
  }

  /** Reads {@code channels.http} below {@code switchboard}. */
  public static HttpChannelConfig read(ConfigReader switchboard) {
    ConfigReader http = switchboard.section("channels").section("http");
    boolean enabled = http.bool("enabled", DEFAULT.enabled());
    String host = http.string("host", DEFAULT.host());
    if (host.isBlank()) {
      http.problem("host", "is empty (expected a host name or address such as 127.0.0.1)");
      host = DEFAULT.host();
    }
    int port = http.atLeast("port", DEFAULT.port(), 0);
    if (port > 65535) {
      http.problem("port", port + " is too large (expected 0 to 65535; 0 = any free port)");
      port = DEFAULT.port();
    }
    int maxPending = http.atLeast("max-pending-messages", DEFAULT.maxPendingMessages(), 1);
    long maxBody = memorySize(http, "max-body-size", DEFAULT.maxBodySize());
    Optional<String> token = http.optionalString("auth-token");
    return new HttpChannelConfig(enabled, host, port, maxPending, maxBody, token);
  }

  @Override
  public String name() {
    return HttpChannel.NAME;
  }

  @Override
  public Behavior<Channel.Command> behavior(ChannelContext context) {
    return HttpChannel.create(this, context);
  }

  /** A copy listening on {@code port} (tests bind port 0). */
  public HttpChannelConfig withPort(int newPort) {
    return new HttpChannelConfig(enabled, host, newPort, maxPendingMessages, maxBodySize, authToken);
  }

  public HttpChannelConfig withMaxPendingMessages(int max) {
    return new HttpChannelConfig(enabled, host, port, max, maxBodySize, authToken);
  }

  public HttpChannelConfig withMaxBodySize(long bytes) {
    return new HttpChannelConfig(enabled, host, port, maxPendingMessages, bytes, authToken);
  }

  public HttpChannelConfig withAuthToken(Optional<String> token) {
    return new HttpChannelConfig(enabled, host, port, maxPendingMessages, maxBodySize, token);
  }

  @Override
  public String toString() {
    return "HttpChannelConfig[enabled=" + enabled + ", host=" + host + ", port=" + port
        + ", maxPendingMessages=" + maxPendingMessages + ", maxBodySize=" + maxBodySize
        + ", authToken=" + (authToken.isPresent() ? "<redacted>" : "<none>") + "]";
  }

  private static long memorySize(ConfigReader section, String key, long fallback) {
    if (!section.has(key)) {
      return fallback;
    }
    long bytes;
    try {
      bytes = section.config().getMemorySize(key).toBytes();
    } catch (ConfigException.BadValue | ConfigException.WrongType e) {
      String shown = section.config().getValue(key).render(ConfigRenderOptions.concise());
      section.problem(key, shown + " is not a memory size like 512k, 1m or 1048576");
      return fallback;
    }
    if (bytes < 1) {
      section.problem(key, bytes + " is too small (expected at least 1 byte)");
      return fallback;
    }
    return bytes;
  }
}
