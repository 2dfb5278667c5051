package switchboard.channels;

import java.util.Optional;

/**
 * A channel as {@code GET /api/status} shows it: {@code state} is e.g. {@code serving} (http),
 * {@code polling} or {@code retrying} (telegram), {@code stopped}; {@code lastError} says why when
 * retrying. {@code busyReplies} counts messages answered with the busy reply since start.
 */
public record ChannelStatus(
    String name, int pending, int maxPending, String state, Optional<String> lastError, long busyReplies)
    implements switchboard.providers.CborSerializable {}
