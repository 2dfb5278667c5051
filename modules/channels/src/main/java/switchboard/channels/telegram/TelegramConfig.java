package switchboard.channels.telegram;

import com.typesafe.config.ConfigValue;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import switchboard.channels.Channel;
import switchboard.channels.ChannelContext;
import switchboard.channels.ChannelSettings;
import java.util.Set;
import switchboard.providers.config.ConfigReader;

/**
 * {@code switchboard.channels.telegram}: where the Bot API is, how long to long-poll, how much work
 * the channel accepts before it answers "busy", and which chats it serves. The token is a secret:
 * {@link #toString()} never shows it.
 *
 * @param allowedChatIds empty means every chat is served
 * @param chatIdleTimeout a chat with nothing to answer for this long lets its actor go (memory is
 *     bounded by the chats that are active, not by every chat ever seen)
 * @param adminChatId where admin notices (alerts) go: {@code alerts.telegram-chat-id}, set by the gateway
 */
public record TelegramConfig(
    boolean enabled,
    String token,
    String baseUrl,
    int maxPendingMessages,
    String busyReply,
    Set<Long> allowedChatIds,
    Duration pollTimeout,
    Duration retryBackoffBase,
    Duration retryBackoffMax,
    Duration chatIdleTimeout,
    Optional<Long> adminChatId) implements ChannelSettings {

  public TelegramConfig(
      boolean enabled, String token, String baseUrl, int maxPendingMessages, String busyReply, Set<Long> allowedChatIds,
      Duration pollTimeout, Duration retryBackoffBase, Duration retryBackoffMax, Duration chatIdleTimeout) {
    this(enabled, token, baseUrl, maxPendingMessages, busyReply, allowedChatIds, pollTimeout, retryBackoffBase,
        retryBackoffMax, chatIdleTimeout, Optional.empty());
  }

  /** The default of {@code chat-idle-timeout}. */
  public static final Duration DEFAULT_CHAT_IDLE_TIMEOUT = Duration.ofMinutes(10);

  public TelegramConfig(
      boolean enabled, String token, String baseUrl, int maxPendingMessages, String busyReply, Set<Long> allowedChatIds,
      Duration pollTimeout, Duration retryBackoffBase, Duration retryBackoffMax) {
    this(enabled, token, baseUrl, maxPendingMessages, busyReply, allowedChatIds, pollTimeout, retryBackoffBase,
        retryBackoffMax, DEFAULT_CHAT_IDLE_TIMEOUT);
  }

  /** The same with another {@code chat-idle-timeout}. */
  public TelegramConfig withChatIdleTimeout(Duration idle) {
    return new TelegramConfig(enabled, token, baseUrl, maxPendingMessages, busyReply, allowedChatIds, pollTimeout,
        retryBackoffBase, retryBackoffMax, idle, adminChatId);
  }

  /** The same sending admin notices to {@code chat}. */
  public TelegramConfig withAdminChat(Optional<Long> chat) {
    return new TelegramConfig(enabled, token, baseUrl, maxPendingMessages, busyReply, allowedChatIds, pollTimeout,
        retryBackoffBase, retryBackoffMax, chatIdleTimeout, chat);
  }

  @Override
  public String name() {
    return TelegramChannel.NAME;
  }

  /** One poller per bot: two would take each other's updates (Telegram answers the second 409). */
  @Override
  public boolean onePerCluster() {
    return true;
  }

  /**
   * The channel with its ledger (its bookkeeping in the gateway's store) as a child that outlives
   * the channel's restarts: the channel restarts under its own supervisor, keeping the ledger.
   */
  @Override
  public Behavior<Channel.Command> behavior(ChannelContext context) {
    return Behaviors.setup(actor -> {
      ActorRef<TelegramLedger.Command> ledger = actor.spawn(
          Behaviors.supervise(TelegramLedger.create()).onFailure(RESTART), "telegram-ledger");
      return Behaviors.supervise(TelegramChannel.create(
              this, context.conversations(), context.dataDir(), context.registry(), context.requestTimeout(),
              Optional.of(ledger)))
          .onFailure(RESTART.withStopChildren(false));
    });
  }

  private static final org.apache.pekko.actor.typed.BackoffSupervisorStrategy RESTART =
      SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200), Duration.ofSeconds(10), 0.2)
          .withResetBackoffAfter(Duration.ofSeconds(30));

  public static final TelegramConfig DEFAULT =
      new TelegramConfig(
          false,
          "",
          "https://api.telegram.org",
          10,
          "System busy, please try again in a moment.",
          Set.of(),
          Duration.ofSeconds(30),
          Duration.ofSeconds(1),
          Duration.ofSeconds(60));

  public TelegramConfig {
    allowedChatIds = Set.copyOf(allowedChatIds);
  }

  /** Reads {@code channels.telegram} from the {@code switchboard} section, recording problems in it. */
  public static TelegramConfig read(ConfigReader switchboard) {
    ConfigReader r = switchboard.section("channels").section("telegram");
    TelegramConfig d = DEFAULT;
    boolean enabled = r.bool("enabled", d.enabled());
    String token = r.string("token", d.token()).trim();
    if (enabled && token.isEmpty()) {
      r.problem("token", "is missing (set TELEGRAM_BOT_TOKEN)");
    }
    String baseUrl = r.string("base-url", d.baseUrl()).trim();
    if (!baseUrl.startsWith("http://") && !baseUrl.startsWith("https://")) {
      r.problem("base-url", "\"" + baseUrl + "\" is not an http:// or https:// URL");
      baseUrl = d.baseUrl();
    }
    while (baseUrl.endsWith("/")) {
      baseUrl = baseUrl.substring(0, baseUrl.length() - 1);
    }
    String busyReply = r.string("busy-reply", d.busyReply());
    if (busyReply.isBlank()) {
      r.problem("busy-reply", "is empty (expected the text busy users get)");
      busyReply = d.busyReply();
    }
    return new TelegramConfig(
        enabled,
        token,
        baseUrl,
        r.atLeast("max-pending-messages", d.maxPendingMessages(), 1),
        busyReply,
        chatIds(r),
        positive(r, "poll-timeout", d.pollTimeout(), true),
        positive(r, "retry-backoff-base", d.retryBackoffBase(), false),
        positive(r, "retry-backoff-max", d.retryBackoffMax(), false),
        positive(r, "chat-idle-timeout", d.chatIdleTimeout(), false));
  }

  /** The delay before retry number {@code retry} (1-based): base·2^(n-1), capped by the max. */
  public Duration backoff(int retry) {
    long base = Math.max(1, retryBackoffBase.toMillis());
    int shift = Math.min(Math.max(retry - 1, 0), 30);
    long millis = base > (Long.MAX_VALUE >> shift) ? Long.MAX_VALUE : base << shift;
    return Duration.ofMillis(Math.min(millis, Math.max(base, retryBackoffMax.toMillis())));
  }

  /** Whether {@code chatId} may use the bot. */
  public boolean allows(long chatId) {
    return allowedChatIds.isEmpty() || allowedChatIds.contains(chatId);
  }

  @Override
  public String toString() {
    return "TelegramConfig[enabled=" + enabled
        + ", token=" + (token.isEmpty() ? "<none>" : "<redacted>")
        + ", baseUrl=" + baseUrl
        + ", maxPendingMessages=" + maxPendingMessages
        + ", busyReply=" + busyReply
        + ", allowedChatIds=" + allowedChatIds
        + ", pollTimeout=" + pollTimeout
        + ", retryBackoffBase=" + retryBackoffBase
        + ", retryBackoffMax=" + retryBackoffMax
        + ", chatIdleTimeout=" + chatIdleTimeout
        + ", adminChatId=" + adminChatId.map(String::valueOf).orElse("<none>") + "]";
  }

  private static Duration positive(ConfigReader r, String key, Duration fallback, boolean wholeSeconds) {
    Duration value = r.duration(key, fallback);
    if (value.isNegative() || value.isZero()) {
      r.problem(key, value + " is not a positive duration");
      return fallback;
    }
    if (wholeSeconds && value.toMillis() % 1000 != 0) {
      r.problem(key, value + " is not a whole number of seconds (Telegram's getUpdates timeout is in seconds)");
      return fallback;
    }
    return value;
  }

  /** Chat ids written as numbers or as strings of digits (Telegram group ids are negative). */
  private static Set<Long> chatIds(ConfigReader r) {
    Set<Long> ids = new LinkedHashSet<>();
    if (!r.has("allowed-chat-ids")) {
      return ids;
    }
    List<? extends ConfigValue> values;
    try {
      values = r.config().getList("allowed-chat-ids");
    } catch (com.typesafe.config.ConfigException.WrongType e) {
      r.problem("allowed-chat-ids", "is not a list of chat ids (expected e.g. [12345, \"-100987\"])");
      return ids;
    }
    for (ConfigValue value : values) {
      Object raw = value.unwrapped();
      String text = String.valueOf(raw).trim();
      try {
        if (raw instanceof Number n && !(raw instanceof Double || raw instanceof Float)) {
          ids.add(n.longValue());
        } else if (raw instanceof String) {
          ids.add(Long.parseLong(text));
        } else {
          throw new NumberFormatException(text);
        }
      } catch (NumberFormatException e) {
        r.problem("allowed-chat-ids", "\"" + text + "\" is not a chat id (expected a whole number)");
      }
    }
    return ids;
  }
}
