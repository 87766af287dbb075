namespace PvDrm.Native.Gpu;

/// <summary>GEM memory domains, numbered as nouveau's NOUVEAU_GEM_DOMAIN_*.</summary>
[Flags]
public enum GemDomain : uint
{
    None = 0,
    Cpu = 1,
    Vram = 2,
    Gart = 4,
    Mappable = 8,
}
