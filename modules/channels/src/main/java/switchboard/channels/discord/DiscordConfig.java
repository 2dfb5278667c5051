package switchboard.channels.discord;

import com.typesafe.config.ConfigValue;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.apache.pekko.actor.typed.Behavior;
import switchboard.channels.Channel;
import switchboard.channels.ChannelContext;
import switchboard.channels.ChannelSettings;
import switchboard.providers.config.ConfigReader;

/**
 * {@code switchboard.channels.discord} (CONTRACT.md section 10): the bot token, where Discord's REST
 * API and Gateway are, how much the channel accepts before it answers "busy", and which channels it
 * serves. The token is a secret: {@link #toString()} never shows it.
 *
 * @param gatewayUrl empty: asked from {@code GET /gateway/bot} at every fresh connect
 * @param allowedChannelIds channel ids (snowflakes, as strings); empty means every channel is served
 * @param retryBackoffBase the first wait before reconnecting or re-sending after a failure; it doubles
 *     up to {@code retryBackoffMax}
 */
public record DiscordConfig(
    boolean enabled,
    String token,
    String apiBaseUrl,
    String gatewayUrl,
    int maxPendingMessages,
    String busyReply,
    Set<String> allowedChannelIds,
    Duration retryBackoffBase,
    Duration retryBackoffMax) implements ChannelSettings {

  public static final String NAME = "discord";

  public static final DiscordConfig DEFAULT = new DiscordConfig(
      false, "", "https://discord.com/api/v10", "", 10, "System busy, please try again in a moment.", Set.of(),
      Duration.ofSeconds(1), Duration.ofSeconds(60));

  public DiscordConfig {
    allowedChannelIds = Set.copyOf(allowedChannelIds);
  }

  /** Reads {@code channels.discord} from the {@code switchboard} section, recording problems in it. */
  public static DiscordConfig read(ConfigReader switchboard) {
    ConfigReader r = switchboard.section("channels").section(NAME);
    DiscordConfig d = DEFAULT;
    boolean enabled = r.bool("enabled", d.enabled());
    String token = r.string("token", d.token()).trim();
    if (enabled && token.isEmpty()) {
      r.problem("token", "is missing (set DISCORD_BOT_TOKEN)");
    }
    String api = url(r, "api-base-url", d.apiBaseUrl(), "http://", "https://");
    String gateway = r.string("gateway-url", "").trim();
    if (!gateway.isEmpty()) {
      gateway = url(r, "gateway-url", "", "ws://", "wss://");
    }
    String busyReply = r.string("busy-reply", d.busyReply());
    if (busyReply.isBlank()) {
      r.problem("busy-reply", "is empty (expected the text busy users get)");
      busyReply = d.busyReply();
    }
    return new DiscordConfig(
        enabled, token, api, gateway, r.atLeast("max-pending-messages", d.maxPendingMessages(), 1), busyReply,
        channelIds(r), positive(r, "retry-backoff-base", d.retryBackoffBase()),
        positive(r, "retry-backoff-max", d.retryBackoffMax()));
  }

  @Override
  public String name() {
    return NAME;
  }

  /** One Gateway session per bot: two would each answer every message. */
  @Override
  public boolean onePerCluster() {
    return true;
  }

  @Override
  public Behavior<Channel.Command> behavior(ChannelContext context) {
    return DiscordChannel.create(this, context.conversations(), context.registry(), context.requestTimeout());
  }

  /** Whether messages of {@code channelId} are answered. */
  public boolean allows(String channelId) {
    return allowedChannelIds.isEmpty() || allowedChannelIds.contains(channelId);
  }

  /** The delay before retry number {@code retry} (1-based): base·2^(n-1), capped by the max. */
  public Duration backoff(int retry) {
    long base = Math.max(1, retryBackoffBase.toMillis());
    int shift = Math.min(Math.max(retry - 1, 0), 30);
    long millis = base > (Long.MAX_VALUE >> shift) ? Long.MAX_VALUE : base << shift;
    return Duration.ofMillis(Math.min(millis, Math.max(base, retryBackoffMax.toMillis())));
  }

  public DiscordConfig withGatewayUrl(String url) {
    return new DiscordConfig(enabled, token, apiBaseUrl, url, maxPendingMessages, busyReply, allowedChannelIds,
        retryBackoffBase, retryBackoffMax);
  }

  @Override
  public String toString() {
    return "DiscordConfig[enabled=" + enabled
        + ", token=" + (token.isEmpty() ? "<none>" : "<redacted>")
        + ", apiBaseUrl=" + apiBaseUrl
        + ", gatewayUrl=" + (gatewayUrl.isEmpty() ? "<from GET /gateway/bot>" : gatewayUrl)
        + ", maxPendingMessages=" + maxPendingMessages
        + ", busyReply=" + busyReply
        + ", allowedChannelIds=" + allowedChannelIds
        + ", retryBackoffBase=" + retryBackoffBase
        + ", retryBackoffMax=" + retryBackoffMax + "]";
  }

  private static String url(ConfigReader r, String key, String fallback, String... schemes) {
    String value = r.string(key, fallback).trim();
    boolean ok = false;
    for (String scheme : schemes) {
      ok |= value.startsWith(scheme);
    }
    if (!ok) {
      r.problem(key, "\"" + value + "\" is not a " + String.join(" or ", schemes) + " URL");
      return fallback;
    }
    while (value.endsWith("/")) {
      value = value.substring(0, value.length() - 1);
    }
    return value;
  }

  private static Duration positive(ConfigReader r, String key, Duration fallback) {
    Duration value = r.duration(key, fallback);
    if (value.isNegative() || value.isZero()) {
      r.problem(key, value + " is not a positive duration");
      return fallback;
    }
    return value;
  }

  /** Channel ids written as strings or numbers of digits (snowflakes are too long for some JSON readers: strings are safer). */
  private static Set<String> channelIds(ConfigReader r) {
    Set<String> ids = new LinkedHashSet<>();
    if (!r.has("allowed-channel-ids")) {
      return ids;
    }
    List<? extends ConfigValue> values;
    try {
      values = r.config().getList("allowed-channel-ids");
    } catch (com.typesafe.config.ConfigException.WrongType e) {
      r.problem("allowed-channel-ids", "is not a list of channel ids (expected e.g. [\"1234567890123456789\"])");
      return ids;
    }
    for (ConfigValue value : values) {
      Object raw = value.unwrapped();
      String text = raw instanceof Number n && !(raw instanceof Double || raw instanceof Float)
          ? String.valueOf(n.longValue()) : String.valueOf(raw).trim();
      if (text.isEmpty() || !text.chars().allMatch(Character::isDigit)) {
        r.problem("allowed-channel-ids", "\"" + text + "\" is not a channel id (expected a snowflake of digits)");
      } else {
        ids.add(text);
      }
    }
    return ids;
  }
}
