package switchboard.providers;

/**
 * The marker of everything the gateway stores or may send between nodes (events, snapshots, later
 * cluster messages): bound to Pekko's Jackson CBOR serializer in this module's {@code reference.conf},
 * so Java serialization is never used.
 */
public interface CborSerializable {}
