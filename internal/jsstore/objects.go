package jsstore

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"slices"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
)

// metaCRC is the metadata key of an object's CRC-32C (Castagnoli), in hex:
// a second sum next to the object store's SHA-256 digest, so that a reader
// checks bytes against a sum the writer computed before the first chunk
// was sent.
const metaCRC = "crc32c"

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// objects is a bucket of objects named so that names sort in the order
// readers want (versions zero-padded).
type objects struct {
	obs    jetstream.ObjectStore
	bucket string
	// what names the objects in errors ("snapshot", "checkpoint").
	what string
	// maxObject bounds one object in bytes (0: no bound of ours).
	maxObject int64
}

// storeConfig is what CheckpointConfig and PolicyConfig have in common.
type storeConfig struct {
	Keep     int
	MaxBytes int64
	Replicas int
}

// storeKind names a store of a run: its bucket, description, what its
// objects are called in errors, and how many objects beyond Keep its
// bucket must hold room for.
type storeKind struct {
	bucket, description, what string
	spare                     int
}

// openStore fills cfg's zero fields from def (Replicas from the
// connection), checks it, and binds to the kind's bucket (creating it if
// create is set). A store opened to create also bounds one object to the
// bucket's limit over Keep+spare. It returns the objects and the filled
// config.
func openStore(ctx context.Context, js jetstream.JetStream, kind storeKind, cfg, def storeConfig, create bool) (objects, storeConfig, error) {
	if cfg.Keep == 0 {
		cfg.Keep = def.Keep
	}
	if cfg.MaxBytes == 0 {
		cfg.MaxBytes = def.MaxBytes
	}
	if cfg.Replicas == 0 {
		cfg.Replicas = DefaultReplicas(js.Conn())
	}
	switch {
	case cfg.Keep < 1:
		return objects{}, cfg, fmt.Errorf("jsstore: bucket %s: keep %d, want >= 1", kind.bucket, cfg.Keep)
	case cfg.MaxBytes < 1<<20:
		return objects{}, cfg, fmt.Errorf("jsstore: bucket %s: max bytes %d, want >= 1 MiB", kind.bucket, cfg.MaxBytes)
	}
	if err := checkReplicas(cfg.Replicas); err != nil {
		return objects{}, cfg, err
	}
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	obs, err := openObjects(ctx, js, jetstream.ObjectStoreConfig{
		Bucket: kind.bucket, Description: kind.description,
		MaxBytes: cfg.MaxBytes, Replicas: cfg.Replicas, Storage: jetstream.FileStorage,
	}, create)
	if err != nil {
		return objects{}, cfg, err
	}
	o := objects{obs: obs, bucket: kind.bucket, what: kind.what}
	if create {
		limit, err := bucketLimit(ctx, obs)
		if err != nil {
			return objects{}, cfg, err
		}
		if limit > 0 {
			o.maxObject = limit / int64(cfg.Keep+kind.spare)
		}
	}
	return o, cfg, nil
}

// put stores data under name with meta. It is visible to readers only once
// its last chunk and then its metadata are stored.
func (o *objects) put(ctx context.Context, name string, meta map[string]string, data []byte) (*jetstream.ObjectInfo, error) {
	if o.maxObject > 0 && int64(len(data)) > o.maxObject {
		return nil, fmt.Errorf("%w: %s %s of %d bytes, the store takes at most %d (raise the bucket's max bytes)",
			ErrTooLarge, o.what, name, len(data), o.maxObject)
	}
	m := make(map[string]string, len(meta)+1)
	for k, v := range meta {
		m[k] = v
	}
	m[metaCRC] = crcHex(data)
	info, err := o.obs.Put(ctx, jetstream.ObjectMeta{Name: name, Metadata: m}, bytes.NewReader(data))
	if err != nil {
		if bucketFull(err) {
			return nil, fmt.Errorf("%w: %s %s of %d bytes does not fit: %w", ErrTooLarge, o.what, name, len(data), err)
		}
		return nil, fmt.Errorf("jsstore: put %s %s: %w", o.what, name, err)
	}
	return info, nil
}

// list returns the live objects in name order (an empty store: none).
func (o *objects) list(ctx context.Context) ([]*jetstream.ObjectInfo, error) {
	infos, err := o.obs.List(ctx)
	if errors.Is(err, jetstream.ErrNoObjectsFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("jsstore: list %ss: %w", o.what, err)
	}
	slices.SortFunc(infos, func(a, b *jetstream.ObjectInfo) int { return strings.Compare(a.Name, b.Name) })
	return infos, nil
}

// get reads the object name whole and verifies both of its sums.
func (o *objects) get(ctx context.Context, name string) ([]byte, *jetstream.ObjectInfo, error) {
	res, err := o.obs.Get(ctx, name)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil, nil, fmt.Errorf("%w: %s %s", ErrNotFound, o.what, name)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("jsstore: get %s %s: %w", o.what, name, err)
	}
	defer res.Close()
	info, err := res.Info()
	if err != nil {
		return nil, nil, fmt.Errorf("jsstore: get %s %s: %w", o.what, name, err)
	}
	var buf bytes.Buffer
	buf.Grow(int(min(info.Size, 1<<30)))
	if _, err := buf.ReadFrom(res); err != nil {
		if errors.Is(err, jetstream.ErrDigestMismatch) {
			return nil, nil, fmt.Errorf("%w: %s %s: SHA-256 digest mismatch", ErrCorrupt, o.what, name)
		}
		return nil, nil, fmt.Errorf("jsstore: read %s %s: %w", o.what, name, err)
	}
	data := buf.Bytes()
	if uint64(len(data)) != info.Size {
		return nil, nil, fmt.Errorf("%w: %s %s: %d bytes, metadata says %d", ErrCorrupt, o.what, name, len(data), info.Size)
	}
	if want, got := info.Metadata[metaCRC], crcHex(data); want != got {
		return nil, nil, fmt.Errorf("%w: %s %s: CRC-32C %s, metadata says %q", ErrCorrupt, o.what, name, got, want)
	}
	return data, info, nil
}

// remove deletes the object name (its chunks are purged).
func (o *objects) remove(ctx context.Context, name string) error {
	if err := o.obs.Delete(ctx, name); err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
		return fmt.Errorf("jsstore: delete %s %s: %w", o.what, name, err)
	}
	return nil
}

func crcHex(data []byte) string {
	var b [4]byte
	c := crc32.Checksum(data, castagnoli)
	b[0], b[1], b[2], b[3] = byte(c>>24), byte(c>>16), byte(c>>8), byte(c)
	return hex.EncodeToString(b[:])
}

// bucketFull reports the server refusing a write for lack of room: the
// bucket's max bytes (JSStreamStoreFailedF, 10077, whose description the
// server's errors.json fixes) or the server's storage (10047).
func bucketFull(err error) bool {
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	return apiErr.ErrorCode == 10047 || apiErr.ErrorCode == 10077 && apiErr.Description == "maximum bytes exceeded"
}
