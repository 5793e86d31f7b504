using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.CompilerServices;
using System.Text;

namespace OdeDsl.Training;

/// <summary>A checkpoint could not be read: names the file and what is wrong with it.</summary>
public sealed class CheckpointException(string path, string problem)
    : IOException($"Checkpoint '{path}': {problem}")
{
    public string FilePath { get; } = path;
    public string Problem { get; } = problem;
}

/// <summary>Where training stood when a checkpoint was written (parameters and optimiser state are loaded in place).</summary>
public readonly record struct CheckpointState(long Iteration, Rng Rng, double LearningRate);

/// <summary>
/// Saves and restores θ, the optimiser's state, the iteration counter and the RNG so that training resumes
/// bit-identically. Writes are atomic (<see cref="AtomicFile"/>).
/// </summary>
/// <remarks>
/// Format, version 1, all integers little-endian (documented in docs/training.md):
/// <code>
/// magic "ODEDSLCK" (8) | version u32 | scalar size u32 (4 = float32, 8 = float64) | section count u32
/// section*: tag (4 ASCII bytes) | length i64 | payload
///   "META": iteration i64 | optimiser steps i64 | rng state 4×u64 | learning rate f64 | kind (i32 length + UTF-8) | parameter count i32
///   "PARM": parameter count scalars
///   "OPTS": buffer count i32 | buffers, parameter count scalars each
/// CRC-32 (IEEE) u32 of every preceding byte
/// </code>
/// </remarks>
public static class Checkpoint
{
    private static ReadOnlySpan<byte> Magic => "ODEDSLCK"u8;
    public const uint FormatVersion = 1;

    public static void Save<T>(string path, ReadOnlySpan<T> parameters, Optimizer<T> optimizer, long iteration, Rng rng)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentOutOfRangeException.ThrowIfNegative(iteration);
        if (parameters.Length != optimizer.ParameterCount)
            throw new ArgumentException($"θ has {parameters.Length} elements but the optimiser was created for {optimizer.ParameterCount}.", nameof(parameters));

        using var body = new MemoryStream();
        using (var w = new BinaryWriter(body, Encoding.UTF8, leaveOpen: true))
        {
            w.Write(Magic);
            w.Write(FormatVersion);
            w.Write((uint)Unsafe.SizeOf<T>());
            w.Write(3u);

            var meta = new MemoryStream();
            using (var m = new BinaryWriter(meta))
            {
                m.Write(iteration);
                m.Write(optimizer.Steps);
                var (s0, s1, s2, s3) = rng.State;
                m.Write(s0); m.Write(s1); m.Write(s2); m.Write(s3);
                m.Write(optimizer.LearningRate);
                byte[] kind = Encoding.UTF8.GetBytes(optimizer.Kind);
                m.Write(kind.Length); m.Write(kind);
                m.Write(parameters.Length);
            }
            WriteSection(w, "META", meta.ToArray());
            WriteSection(w, "PARM", MemoryMarshal.AsBytes(parameters));

            var buffers = optimizer.StateBuffers;
            var opts = new MemoryStream();
            using (var o = new BinaryWriter(opts))
            {
                o.Write(buffers.Count);
                foreach (var b in buffers) o.Write(MemoryMarshal.AsBytes(b.AsSpan()));
            }
            WriteSection(w, "OPTS", opts.ToArray());
        }
        uint crc = Crc32.Compute(body.GetBuffer().AsSpan(0, (int)body.Length));
        body.Write(BitConverter.GetBytes(crc));
        var bytes = body.GetBuffer().AsSpan(0, (int)body.Length);
        AtomicFile.WriteAllBytes(path, bytes);
    }

    /// <summary>
    /// Reads <paramref name="path"/>, checks it, and only then overwrites <paramref name="parameters"/> and
    /// <paramref name="optimizer"/>'s state; throws <see cref="CheckpointException"/> (leaving both untouched) when the
    /// file is corrupt, truncated, or was written for another scalar type, parameter count or optimiser kind.
    /// </summary>
    public static CheckpointState Load<T>(string path, Span<T> parameters, Optimizer<T> optimizer)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(optimizer);
        if (!File.Exists(path)) throw new CheckpointException(path, "the file does not exist.");
        byte[] data = File.ReadAllBytes(path);
        void Fail(string problem) => throw new CheckpointException(path, problem);

        if (data.Length < Magic.Length + 16 || !data.AsSpan(0, Magic.Length).SequenceEqual(Magic))
            Fail("not an OdeDsl checkpoint (the header's magic bytes are missing).");
        int end = data.Length - 4;
        uint stored = BitConverter.ToUInt32(data, end);
        if (Crc32.Compute(data.AsSpan(0, end)) != stored)
            Fail("checksum mismatch: the file is corrupt or truncated.");

        var r = new BinaryReader(new MemoryStream(data, 0, end));
        r.ReadBytes(Magic.Length);
        uint version = r.ReadUInt32();
        if (version != FormatVersion) Fail($"format version {version}; this build reads version {FormatVersion}.");
        uint scalar = r.ReadUInt32();
        if (scalar != Unsafe.SizeOf<T>())
            Fail($"written with {scalar}-byte scalars, loading as {typeof(T).Name} ({Unsafe.SizeOf<T>()} bytes).");
        uint sections = r.ReadUInt32();

        byte[]? meta = null, parm = null, opts = null;
        for (uint i = 0; i < sections; i++)
        {
            if (r.BaseStream.Length - r.BaseStream.Position < 12) Fail("truncated section header.");
            string tag = Encoding.ASCII.GetString(r.ReadBytes(4));
            long length = r.ReadInt64();
            if (length < 0 || length > r.BaseStream.Length - r.BaseStream.Position) Fail($"section '{tag}' claims {length} bytes, past the end of the file.");
            byte[] payload = r.ReadBytes((int)length);
            switch (tag)
            {
                case "META": meta = payload; break;
                case "PARM": parm = payload; break;
                case "OPTS": opts = payload; break;
                default: break; // sections added by later minor revisions are skipped
            }
        }
        if (meta is null || parm is null || opts is null) Fail("a required section (META, PARM, OPTS) is missing.");

        var m = new BinaryReader(new MemoryStream(meta!));
        long iteration = m.ReadInt64();
        long steps = m.ReadInt64();
        var rngState = (m.ReadUInt64(), m.ReadUInt64(), m.ReadUInt64(), m.ReadUInt64());
        double lr = m.ReadDouble();
        string kind = Encoding.UTF8.GetString(m.ReadBytes(m.ReadInt32()));
        int count = m.ReadInt32();
        if (kind != optimizer.Kind) Fail($"saved for optimiser {kind}, loading into {optimizer.Kind}.");
        if (count != parameters.Length || count != optimizer.ParameterCount)
            Fail($"holds {count} parameters; the model has {parameters.Length}.");
        int scalarBytes = count * Unsafe.SizeOf<T>();
        if (parm!.Length != scalarBytes) Fail($"the PARM section has {parm.Length} bytes, expected {scalarBytes}.");

        var buffers = optimizer.StateBuffers;
        var o = new BinaryReader(new MemoryStream(opts!));
        int bufferCount = o.ReadInt32();
        if (bufferCount != buffers.Count)
            Fail($"holds {bufferCount} optimiser buffers; this {optimizer.Kind} (with its settings) keeps {buffers.Count}.");
        if (opts!.Length != 4 + (long)bufferCount * scalarBytes) Fail("the OPTS section has the wrong length.");

        // Everything is validated: now overwrite the caller's state.
        MemoryMarshal.Cast<byte, T>(parm).CopyTo(parameters);
        for (int b = 0; b < bufferCount; b++)
            MemoryMarshal.Cast<byte, T>(opts.AsSpan(4 + b * scalarBytes, scalarBytes)).CopyTo(buffers[b]);
        optimizer.RestoreSteps(steps);
        optimizer.LearningRate = lr;
        return new CheckpointState(iteration, Rng.FromState(rngState), lr);
    }

    private static void WriteSection(BinaryWriter w, string tag, ReadOnlySpan<byte> payload)
    {
        w.Write(Encoding.ASCII.GetBytes(tag));
        w.Write((long)payload.Length);
        w.Write(payload);
    }
}
