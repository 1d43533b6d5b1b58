using System.Security.Cryptography;
using System.Text;

namespace HilBench.Cli;

/// <summary>Short content hashes that tell a resumed run whether its inputs are the ones an earlier run measured.</summary>
public static class ContentHash
{
    /// <summary>The first 16 hex digits of the SHA-256 of the parts, hashed one after another.</summary>
    public static string Of(params ReadOnlySpan<byte[]> parts)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var part in parts) hash.AppendData(part);
        return Convert.ToHexStringLower(hash.GetHashAndReset())[..16];
    }

    public static string Of(string text) => Of(Encoding.UTF8.GetBytes(text));

    /// <summary>The hash of a set of images: their shape, pixels and labels (the same images hash alike, gzipped or not).</summary>
    public static string Of(HilBench.Bnn.Data.ImageSet images) => Of(Encoding.UTF8.GetBytes(images.Shape.ToString()), images.Pixels, images.Labels);

    /// <summary>The hash of a file's bytes.</summary>
    public static string OfFile(string path) => Of(File.ReadAllBytes(path));
}
