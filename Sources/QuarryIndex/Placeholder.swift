// QuarryIndex
