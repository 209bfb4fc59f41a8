namespace Pager.Protocol;

/// The verbs of the pager protocol; see pager(7).
public enum Verb
{
	Read,   // pagerd → pager: fill OFF..OFF+LEN
	Data,   // pager → pagerd: the bytes, inline
	File,   // pager → pagerd: read the bytes from PATH at FOFF
	Zero,   // pager → pagerd: zero-fill
	Error,  // pager → pagerd: the range cannot be supplied
	Punt,   // pager → pagerd: declined; use the map's own source
	Write,  // pagerd → pager: dirty bytes to write back
	Sync,   // pagerd → pager: barrier; everything before must be durable
	Ok,     // pager → pagerd: a write is durable
	Fail,   // pager → pagerd: a write failed
	Synced, // pager → pagerd: the barrier is passed
	Evict,  // pager → pagerd: drop these clean pages
}
