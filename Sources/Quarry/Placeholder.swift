// Quarry
