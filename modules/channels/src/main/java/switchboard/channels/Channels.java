package switchboard.channels;

import java.util.List;
import java.util.Optional;
import java.util.function.Function;
import switchboard.channels.discord.DiscordConfig;
import switchboard.channels.http.HttpChannelConfig;
import switchboard.channels.telegram.TelegramConfig;
import switchboard.providers.config.ConfigReader;

/**
 * The registry of channel kinds: how each {@code switchboard.channels.<name>} section is read. The
 * gateway starts the enabled ones in this order, which is also their order in {@code /api/status}.
 * A new channel is registered by adding its config's {@code read} here.
 */
public final class Channels {
  private Channels() {}

  /** Each reader takes the {@code switchboard} section and records its problems there. */
  public static final List<Function<ConfigReader, ChannelSettings>> KINDS =
      List.of(HttpChannelConfig::read, TelegramConfig::read, DiscordConfig::read);

  /** Every channel's settings, enabled or not, in registry order. */
  public static List<ChannelSettings> read(ConfigReader switchboard) {
    return KINDS.stream().map(kind -> kind.apply(switchboard)).toList();
  }

  /** The settings of type {@code type} among {@code channels}, if there are. */
  public static <T extends ChannelSettings> Optional<T> find(List<ChannelSettings> channels, Class<T> type) {
    return channels.stream().filter(type::isInstance).map(type::cast).findFirst();
  }
}
