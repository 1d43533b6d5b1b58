using HilBench.Memory.Images;

namespace HilBench.Memory.Backends;

/// <summary>The image a backend holds, with the check every Load makes.</summary>
internal sealed class StoredImage(string backend)
{
    private WeightImage? _image;

    public void Set(WeightImage image) => _image = image.Clone();

    public WeightImage Get() =>
        _image ?? throw new MemoryBackendException($"{backend}: nothing is stored; call Store(image) before Load");
}
