using PvDrm.Client;

namespace PvDrm.Tests.Support;

/// <summary>A small piece of real work whose result is checked: proof that a guest is still served.</summary>
internal static class Verified
{
    public static async Task FillAndCheck(DrmContext ctx, uint pattern)
    {
        var gem = await ctx.GemNewAsync(4096);
        var channel = await ctx.ChannelAllocAsync();
        await ctx.SubmitAsync(channel, Commands.Fill(gem, pattern)).WaitAsync(HostHarness.Timeout);
        await gem.CpuPrepAsync().WaitAsync(HostHarness.Timeout);
        var back = new byte[4096];
        await gem.ReadAsync(0, back);
        for (int i = 0; i < back.Length; i += 4) Assert.Equal(pattern, BitConverter.ToUInt32(back, i));
        await channel.FreeAsync();
        await gem.CloseAsync();
    }
}
