/// Version facts exported as `inference_probe_build_info`.
public enum BuildInfo {
    public static let version = "0.1.0"
}
