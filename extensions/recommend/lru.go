package recommend

import (
	"container/list"
	"sync"
	"time"
)

// lru is a bounded cache whose entries also expire after ttl. It is safe for concurrent use.
type lru[V any] struct {
	mu    sync.Mutex
	size  int
	ttl   time.Duration
	order *list.List // front = most recently used
	byKey map[string]*list.Element
	now   func() time.Time
}

type lruEntry[V any] struct {
	key     string
	value   V
	expires time.Time
}

func newLRU[V any](size int, ttl time.Duration) *lru[V] {
	return &lru[V]{size: size, ttl: ttl, order: list.New(), byKey: map[string]*list.Element{}, now: time.Now}
}

// get returns the live value under key.
func (c *lru[V]) get(key string) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var zero V
	el, ok := c.byKey[key]
	if !ok {
		return zero, false
	}
	e := el.Value.(*lruEntry[V])
	if c.now().After(e.expires) {
		c.order.Remove(el)
		delete(c.byKey, key)
		return zero, false
	}
	c.order.MoveToFront(el)
	return e.value, true
}

// put stores value under key for the cache's ttl, evicting the least recently used entry when
// full.
func (c *lru[V]) put(key string, value V) {
	c.putFor(key, value, c.ttl)
}

// putFor is put with its own lifetime (at most the cache's ttl).
func (c *lru[V]) putFor(key string, value V, ttl time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	expires := c.now().Add(min(ttl, c.ttl))
	if el, ok := c.byKey[key]; ok {
		el.Value = &lruEntry[V]{key: key, value: value, expires: expires}
		c.order.MoveToFront(el)
		return
	}
	c.byKey[key] = c.order.PushFront(&lruEntry[V]{key: key, value: value, expires: expires})
	for c.order.Len() > c.size {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.byKey, last.Value.(*lruEntry[V]).key)
	}
}

// remove drops the entry under key, if any.
func (c *lru[V]) remove(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[key]; ok {
		c.order.Remove(el)
		delete(c.byKey, key)
	}
}

// clear drops every entry.
func (c *lru[V]) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.order.Init()
	c.byKey = map[string]*list.Element{}
}
