"""Every query of the metrics service: `writes` keeps facts and buckets, `reads` reports them."""
