package switchboard.channels;

import java.util.concurrent.CompletionStage;

/** Asks one channel for its {@link ChannelStatus}; the HTTP channel uses these to serve /api/status. */
@FunctionalInterface
public interface ChannelStatusProbe {
  CompletionStage<ChannelStatus> probe();
}
