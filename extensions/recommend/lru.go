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

// put stores value under key, evicting the least recently used entry when full.
func (c *lru[V]) put(key string, value V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[key]; ok {
		el.Value = &lruEntry[V]{key: key, value: value, expires: c.now().Add(c.ttl)}
		c.order.MoveToFront(el)
		return
	}
	c.byKey[key] = c.order.PushFront(&lruEntry[V]{key: key, value: value, expires: c.now().Add(c.ttl)})
	for c.order.Len() > c.size {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.byKey, last.Value.(*lruEntry[V]).key)
	}
}

// clear drops every entry.
func (c *lru[V]) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.order.Init()
	c.byKey = map[string]*list.Element{}
}
