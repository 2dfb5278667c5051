package switchboard.providers.wire;

/**
 * {@code kind = "simulated"}: answered inside the process, in OpenAI's format, so its answers go
 * through exactly the parsing and classification real ones do.
 */
public final class SimulatedKind extends OpenAiKind {
  public static final SimulatedKind INSTANCE = new SimulatedKind();

  private SimulatedKind() {}

  @Override
  public String name() {
    return "simulated";
  }

  @Override
  public String defaultBaseUrl() {
    return "";
  }

  @Override
  public String defaultModel() {
    return "simulated";
  }

  @Override
  public boolean inProcess() {
    return true;
  }
}
