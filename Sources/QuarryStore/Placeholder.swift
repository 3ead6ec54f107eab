// QuarryStore
