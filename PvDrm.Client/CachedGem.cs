namespace PvDrm.Client;

/// <summary>A closed object waiting in the client's GEM cache: still open on the host, in its context.</summary>
internal sealed record CachedGem(DrmContext Context, uint Handle, GemMapping? Mapping);
