Console.WriteLine("Spiral demo: not landed yet.");
